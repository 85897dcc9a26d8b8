package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"

	"wxbackend/domain"
)

// outcome is how an error reaches a client: the contract's code, the HTTP
// status, and whether it is the server's fault (logged as an error).
type outcome struct {
	code   int
	status int
	fault  bool
}

// outcomes is the one table from domain error kind to contract code and HTTP
// status. A kind missing from it (not-found, which the app never lets out) is
// an internal error.
var outcomes = map[domain.Kind]outcome{
	domain.KindInvalidInput:    {1, http.StatusBadRequest, false},
	domain.KindUnauthenticated: {2, http.StatusUnauthorized, false},
	domain.KindBadCode:         {3, http.StatusBadRequest, false},
	domain.KindUndecryptable:   {4, http.StatusBadRequest, false},
	domain.KindWatermark:       {5, http.StatusBadRequest, false},
	domain.KindSignature:       {6, http.StatusBadRequest, false},
	domain.KindRateLimited:     {7, http.StatusTooManyRequests, false},
	domain.KindUpstream:        {8, http.StatusBadGateway, true},
	domain.KindUpstreamTimeout: {8, http.StatusGatewayTimeout, true},
	domain.KindUnavailable:     {9, http.StatusServiceUnavailable, true},
	domain.KindTooLarge:        {11, http.StatusRequestEntityTooLarge, false},
	domain.KindContentRejected: {12, http.StatusUnprocessableEntity, false},
	domain.KindForbidden:       {13, http.StatusForbidden, false},
	domain.KindInternal:        {10, http.StatusInternalServerError, true},
}

// transportError is a failure of the HTTP exchange itself, before the core
// sees the request: it carries its own outcome and message.
type transportError struct {
	outcome
	msg string
}

func (e *transportError) Error() string { return e.msg }

// The transport's own errors: code 11.
var (
	errTooLarge         = &transportError{outcome{11, http.StatusRequestEntityTooLarge, false}, "request body too large"}
	errUnsupportedMedia = &transportError{outcome{11, http.StatusUnsupportedMediaType, false}, "unsupported content type"}
	errNoRoute          = &transportError{outcome{1, http.StatusNotFound, false}, "no such route"}
	errNoMethod         = &transportError{outcome{1, http.StatusMethodNotAllowed, false}, "method not allowed"}
	// errClientGone answers a request its client cancelled (it hung up, or
	// wx.request's timeout fired): no one reads the answer, and whatever
	// failed failed because the client left, so it is no server fault
	// (codes 8-10 page someone) but code 7, "back off", with nginx's 499.
	errClientGone = &transportError{outcome{7, statusClientClosedRequest, false}, "request cancelled by the client"}
	// errBodyTimeout answers a request whose body did not arrive within the
	// server's read timeout (WXB_HTTP_READ_TIMEOUT): a slow client, not one
	// that cancelled (net/http cancels the request's context on any read
	// error, so clientGone alone cannot tell them apart), and no server fault.
	errBodyTimeout = &transportError{outcome{1, http.StatusRequestTimeout, false}, "request body not received in time"}
	// The gateway's upstream failed to answer (gateway.go): it is down or
	// broke the connection, or it did not start answering within its
	// timeout. Code 8 as WeChat's failures, with the gateway statuses.
	errGatewayDown    = &transportError{outcome{8, http.StatusBadGateway, true}, "upstream service unavailable"}
	errGatewayTimeout = &transportError{outcome{8, http.StatusGatewayTimeout, true}, "upstream service timed out"}
)

// readErr is the error of a failed read of a request body: errBodyTimeout
// when the read timed out, else err.
func readErr(err error) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errBodyTimeout
	}
	return err
}

// statusClientClosedRequest is nginx's status of a request whose client
// closed the connection before the answer.
const statusClientClosedRequest = 499

// clientGone reports whether r's client cancelled it: its context ended by
// cancellation (not by a deadline of ours).
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// outcomeOf returns the outcome of err and the message the client sees.
// Internal errors never show their message.
func outcomeOf(err error) (outcome, string) {
	var te *transportError
	if errors.As(err, &te) {
		return te.outcome, te.msg
	}
	o, ok := outcomes[domain.KindOf(err)]
	if !ok {
		return outcomes[domain.KindInternal], domain.KindInternal.Message()
	}
	return o, domain.ClientMessageOf(err)
}
