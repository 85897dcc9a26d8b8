package httpapi

import (
	"net/http"

	"wxbackend/domain"
)

// outcome is how an error kind reaches a client: the contract's code, the HTTP
// status, and whether it is the server's fault (logged as an error).
type outcome struct {
	code   int
	status int
	fault  bool
}

// outcomes is the one table from error kind to contract code and HTTP status.
var outcomes = map[domain.Kind]outcome{
	domain.KindInvalidInput:     {1, http.StatusBadRequest, false},
	domain.KindUnauthenticated:  {2, http.StatusUnauthorized, false},
	domain.KindBadCode:          {3, http.StatusBadRequest, false},
	domain.KindUndecryptable:    {4, http.StatusBadRequest, false},
	domain.KindWatermark:        {5, http.StatusBadRequest, false},
	domain.KindSignature:        {6, http.StatusBadRequest, false},
	domain.KindRateLimited:      {7, http.StatusTooManyRequests, false},
	domain.KindUpstream:         {8, http.StatusBadGateway, true},
	domain.KindUpstreamTimeout:  {8, http.StatusGatewayTimeout, true},
	domain.KindUnavailable:      {9, http.StatusServiceUnavailable, true},
	domain.KindInternal:         {10, http.StatusInternalServerError, true},
	domain.KindTooLarge:         {11, http.StatusRequestEntityTooLarge, false},
	domain.KindUnsupportedMedia: {11, http.StatusUnsupportedMediaType, false},
}

// outcomeOf returns the outcome of err and the message the client sees. A kind
// missing from the table (such as not-found, which the app never lets out) is
// an internal error, and internal errors never show their message.
func outcomeOf(err error) (outcome, string) {
	k := domain.KindOf(err)
	o, ok := outcomes[k]
	if !ok || k == domain.KindInternal {
		return outcomes[domain.KindInternal], domain.ErrInternal.Msg
	}
	var de *domain.Error
	if asDomain(err, &de) {
		return o, de.Msg
	}
	return o, domain.ErrInternal.Msg
}
