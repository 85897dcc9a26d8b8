package app

// Introspect answers another service of the deployment that holds a user's
// token (a WebSocket service, a job) who the token is, in the shape of
// RFC 7662: an active session and its user, or "not active". It is the
// internal listener's, behind an API key of scope introspect; the key's
// apps bound which sessions it may see. One read of the session store,
// never the user database: it must stay cheap for services that call it per
// message.

import (
	"context"
	"errors"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Introspect looks a token up for an API key.
type Introspect struct {
	apps     apps
	sessions ports.SessionStore
	clock    ports.Clock
}

// Introspection is what Introspect found: the session of an active token;
// Active false (and no session) for any other.
type Introspection struct {
	Active  bool
	Session domain.Session
}

// Handle returns the session of raw when it is live, of an app this server
// serves, and of an app key may see. Anything else (a token malformed,
// unknown, expired or revoked, of an app out of the key's reach, or a key
// without the scope) is inactive, with no error: a caller learns nothing
// more about a token it may not see than about one that does not exist.
// Only a store that fails is an error.
func (i *Introspect) Handle(ctx context.Context, key domain.APIKey, raw string) (Introspection, error) {
	if !key.Allows(domain.ScopeIntrospect, "") {
		return Introspection{}, nil
	}
	tok, err := domain.ParseToken(raw)
	if err != nil {
		return Introspection{}, nil
	}
	sess, err := i.sessions.Get(ctx, tok.Digest())
	switch {
	case errors.Is(err, domain.ErrUnauthenticated):
		return Introspection{}, nil
	case err != nil:
		return Introspection{}, err
	}
	if sess.Expired(i.clock.Now()) || !key.AllowsApp(sess.AppID) {
		return Introspection{}, nil
	}
	if _, err := i.apps.lookup(sess.AppID); err != nil { // an app no longer served
		return Introspection{}, nil
	}
	return Introspection{Active: true, Session: sess}, nil
}
