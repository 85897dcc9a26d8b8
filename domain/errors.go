package domain

import (
	"errors"
	"time"
)

// Kind classifies an error by what the client should do about it. The HTTP
// adapter maps each kind to one contract code and status, in one table.
type Kind uint8

// The error kinds. Their order is not significant.
const (
	KindInternal         Kind = iota // unexpected; details are logged, never shown
	KindInvalidInput                 // a parameter is missing or malformed
	KindUnauthenticated              // token missing, unknown, expired or revoked
	KindBadCode                      // WeChat rejected the login code
	KindUndecryptable                // encrypted data does not decrypt under the session's key
	KindWatermark                    // watermark missing, of another app, or too old
	KindSignature                    // signature does not match rawData
	KindRateLimited                  // too many requests
	KindUpstream                     // WeChat API unreachable or failing
	KindUpstreamTimeout              // WeChat API did not answer in time
	KindUnavailable                  // a store (database, session store) is unavailable
	KindTooLarge                     // request body over the size limit
	KindUnsupportedMedia             // a content type the server does not read
	KindNotFound                     // a stored record does not exist (never reaches a client as such)
)

var kindNames = [...]string{
	KindInternal:         "internal",
	KindInvalidInput:     "invalid_input",
	KindUnauthenticated:  "unauthenticated",
	KindBadCode:          "bad_code",
	KindUndecryptable:    "undecryptable",
	KindWatermark:        "watermark",
	KindSignature:        "signature",
	KindRateLimited:      "rate_limited",
	KindUpstream:         "upstream",
	KindUpstreamTimeout:  "upstream_timeout",
	KindUnavailable:      "unavailable",
	KindTooLarge:         "too_large",
	KindUnsupportedMedia: "unsupported_media",
	KindNotFound:         "not_found",
}

// String returns a stable, log-friendly name for the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is the error type of the core. Msg is safe to show a client; Err is the
// underlying cause, for logs only.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
	// RetryAfter, for KindRateLimited, is when trying again may succeed.
	RetryAfter time.Duration
}

// RateLimited is the error of a request over its rate limit.
func RateLimited(retryAfter time.Duration) *Error {
	return &Error{Kind: KindRateLimited, Msg: ErrRateLimited.Msg, Err: constError("over the rate limit"), RetryAfter: retryAfter}
}

// RetryAfterOf returns the RetryAfter of err's domain error, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
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

// Sentinel errors, one per kind, for errors.Is and as templates.
var (
	ErrInternal         = &Error{Kind: KindInternal, Msg: "internal error"}
	ErrInvalidInput     = &Error{Kind: KindInvalidInput, Msg: "invalid parameter"}
	ErrUnauthenticated  = &Error{Kind: KindUnauthenticated, Msg: "无效的token"}
	ErrBadCode          = &Error{Kind: KindBadCode, Msg: "invalid login code"}
	ErrUndecryptable    = &Error{Kind: KindUndecryptable, Msg: "encrypted data does not decrypt"}
	ErrWatermark        = &Error{Kind: KindWatermark, Msg: "watermark does not match"}
	ErrSignature        = &Error{Kind: KindSignature, Msg: "signature does not match"}
	ErrRateLimited      = &Error{Kind: KindRateLimited, Msg: "too many requests"}
	ErrUpstream         = &Error{Kind: KindUpstream, Msg: "WeChat API unavailable"}
	ErrUpstreamTimeout  = &Error{Kind: KindUpstreamTimeout, Msg: "WeChat API timed out"}
	ErrUnavailable      = &Error{Kind: KindUnavailable, Msg: "storage unavailable"}
	ErrTooLarge         = &Error{Kind: KindTooLarge, Msg: "request body too large"}
	ErrUnsupportedMedia = &Error{Kind: KindUnsupportedMedia, Msg: "unsupported content type"}
	ErrNotFound         = &Error{Kind: KindNotFound, Msg: "not found"}
)

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

// Wrap returns an error of kind k with the client message of that kind's sentinel
// and cause as the logged detail.
func Wrap(k Kind, cause error) error {
	return &Error{Kind: k, Msg: sentinelMsg(k), Err: cause}
}

func sentinelMsg(k Kind) string {
	for _, s := range []*Error{ErrInternal, ErrInvalidInput, ErrUnauthenticated, ErrBadCode,
		ErrUndecryptable, ErrWatermark, ErrSignature, ErrRateLimited, ErrUpstream, ErrUpstreamTimeout,
		ErrUnavailable, ErrTooLarge, ErrUnsupportedMedia, ErrNotFound} {
		if s.Kind == k {
			return s.Msg
		}
	}
	return ErrInternal.Msg
}

// KindOf returns the kind of err: the kind of the first *Error in its chain, or
// KindInternal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
