package app

// Authenticate turns the raw token a request carries into the live session
// of the app the request names. It is the one place a token is read: the
// HTTP adapter calls it once per request, and every other use case takes the
// session it returns. Rate limits are the adapter's, not this use case's.

import (
	"context"
	"errors"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Authenticate finds the session of a token.
type Authenticate struct {
	apps     apps
	sessions ports.SessionStore
	clock    ports.Clock
}

// Authenticated is a request's session and the digest of the token that
// named it (what Logout deletes, and what a per-session limit is keyed by).
type Authenticated struct {
	Session domain.Session
	Token   domain.TokenDigest
}

// Handle returns the live session of raw for the app appID names ("" for
// the one app served): a token belongs to the app it was issued for, and is
// no token for any other. A missing, malformed, unknown or expired token is
// KindUnauthenticated; an app not served is invalid input.
func (a *Authenticate) Handle(ctx context.Context, appID, raw string) (Authenticated, error) {
	wc, err := a.apps.lookup(appID)
	if err != nil {
		return Authenticated{}, err
	}
	tok, err := domain.ParseToken(raw)
	if err != nil {
		return Authenticated{}, err
	}
	digest := tok.Digest()
	sess, err := a.sessions.Get(ctx, digest)
	if err != nil {
		return Authenticated{}, err
	}
	if sess.Expired(a.clock.Now()) {
		return Authenticated{}, domain.ErrUnauthenticated
	}
	if sess.AppID != wc.AppID() {
		return Authenticated{}, domain.Wrap(domain.KindUnauthenticated, errors.New("a token of another app"))
	}
	return Authenticated{Session: sess, Token: digest}, nil
}
