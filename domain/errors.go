package domain

import (
	"errors"
	"time"
)

// Kind classifies an error by what the client should do about it. The HTTP
// adapter maps each kind to one contract code and status, in one table.
type Kind uint8

// The error kinds, as few as the client's choices need. Transport-only
// failures (a body too large, a content type not read) are the transport
// adapter's, not the domain's.
const (
	KindInternal        Kind = iota // unexpected; details are logged, never shown
	KindInvalidInput                // a parameter is missing or malformed
	KindUnauthenticated             // token missing, unknown, expired or revoked
	KindBadCode                     // WeChat rejected the login code
	KindUndecryptable               // encrypted data does not decrypt under the session's key
	KindWatermark                   // watermark missing, of another app, or too old
	KindSignature                   // signature does not match rawData
	KindRateLimited                 // too many requests
	KindUpstream                    // WeChat API unreachable or failing
	KindUpstreamTimeout             // WeChat API did not answer in time
	KindUnavailable                 // a store (database, session store, blob store) is unavailable
	KindTooLarge                    // content over a limit the domain sets (an image's pixels)
	KindContentRejected             // WeChat's content check called a text risky
	KindNotFound                    // a stored record does not exist (never reaches a client as such)
	KindForbidden                   // a known caller (an API key) may not do this: out of its scopes or apps
)

// kinds is the one table of error kinds: a stable name for logs, and the
// message a client is shown (the tutorial's, where it had one).
var kinds = [...]struct{ name, msg string }{
	KindInternal:        {"internal", "internal error"},
	KindInvalidInput:    {"invalid_input", "invalid parameter"},
	KindUnauthenticated: {"unauthenticated", "无效的token"},
	KindBadCode:         {"bad_code", "invalid login code"},
	KindUndecryptable:   {"undecryptable", "encrypted data does not decrypt"},
	KindWatermark:       {"watermark", "watermark does not match"},
	KindSignature:       {"signature", "signature does not match"},
	KindRateLimited:     {"rate_limited", "too many requests"},
	KindUpstream:        {"upstream", "WeChat API unavailable"},
	KindUpstreamTimeout: {"upstream_timeout", "WeChat API timed out"},
	KindUnavailable:     {"unavailable", "storage unavailable"},
	KindTooLarge:        {"too_large", "content too large"},
	KindContentRejected: {"content_rejected", "content rejected"},
	KindNotFound:        {"not_found", "not found"},
	KindForbidden:       {"forbidden", "forbidden"},
}

// String returns a stable, log-friendly name for the kind.
func (k Kind) String() string {
	if int(k) < len(kinds) {
		return kinds[k].name
	}
	return "unknown"
}

// Message returns what a client is shown for an error of kind k.
func (k Kind) Message() string {
	if int(k) < len(kinds) && k != KindInternal {
		return kinds[k].msg
	}
	return kinds[KindInternal].msg
}

// Error is the error type of the core. Its message is safe to show a client;
// Err is the underlying cause, for logs only.
type Error struct {
	Kind Kind
	// Msg, when set, replaces the kind's message (it names a parameter, say).
	Msg string
	Err error
	// RetryAfter, for KindRateLimited, is when trying again may succeed.
	RetryAfter time.Duration
	// Detail, when set, tells the developer what the request should have
	// held, in English; clients see it beside the contract's msg. It must
	// hold no secret.
	Detail string
}

// Wrap returns an error of kind k, with the kind's client message and cause
// (may be nil) as the logged detail. It is the constructor of every domain
// error but those below that carry their own message.
func Wrap(k Kind, cause error) error {
	return &Error{Kind: k, Err: cause}
}

// RateLimited is the error of a request over its rate limit.
func RateLimited(retryAfter time.Duration) error {
	return &Error{Kind: KindRateLimited, Err: constError("over the rate limit"), RetryAfter: retryAfter}
}

// MsgMissing is the tutorial's message for a missing parameter.
const MsgMissing = "缺少参数!"

// Missing returns an invalid-input error for a required parameter that is absent.
func Missing(param string) error {
	return &Error{Kind: KindInvalidInput, Msg: MsgMissing, Err: errors.New("missing " + param)}
}

// Malformed returns an invalid-input error whose message names the parameter and
// the problem. The message is shown to the client, so it must hold no secret.
func Malformed(param, problem string) error {
	return &Error{Kind: KindInvalidInput, Msg: "invalid parameter " + param + ": " + problem}
}

// ClientMessage returns what a client is shown for e.
func (e *Error) ClientMessage() string {
	if e.Msg != "" && e.Kind != KindInternal {
		return e.Msg
	}
	return e.Kind.Message()
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.ClientMessage()
	}
	return e.ClientMessage() + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same kind, so that
// errors.Is(err, domain.ErrUndecryptable) matches every undecryptable error
// whatever its message or cause.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// Sentinel errors, one per kind, for errors.Is.
var (
	ErrInternal        = Wrap(KindInternal, nil)
	ErrInvalidInput    = Wrap(KindInvalidInput, nil)
	ErrUnauthenticated = Wrap(KindUnauthenticated, nil)
	ErrBadCode         = Wrap(KindBadCode, nil)
	ErrUndecryptable   = Wrap(KindUndecryptable, nil)
	ErrWatermark       = Wrap(KindWatermark, nil)
	ErrSignature       = Wrap(KindSignature, nil)
	ErrRateLimited     = Wrap(KindRateLimited, nil)
	ErrUpstream        = Wrap(KindUpstream, nil)
	ErrUpstreamTimeout = Wrap(KindUpstreamTimeout, nil)
	ErrUnavailable     = Wrap(KindUnavailable, nil)
	ErrTooLarge        = Wrap(KindTooLarge, nil)
	ErrContentRejected = Wrap(KindContentRejected, nil)
	ErrNotFound        = Wrap(KindNotFound, nil)
	ErrForbidden       = Wrap(KindForbidden, nil)
)

// KindOf returns the kind of err: the kind of the first *Error in its chain, or
// KindInternal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// RetryAfterOf returns the RetryAfter of err's domain error, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// WithDetail returns err with detail as its Detail when err is a domain
// error (a copy: err is left as it was), else err.
func WithDetail(err error, detail string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Detail = detail
	return &c
}

// DetailOf returns the Detail of err's domain error, or "". An internal
// error has none: its cause is for the log only.
func DetailOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal {
		return e.Detail
	}
	return ""
}

// ClientMessageOf returns what a client is shown for err: its domain error's
// message, or the internal error's when it has none.
func ClientMessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ClientMessage()
	}
	return KindInternal.Message()
}
