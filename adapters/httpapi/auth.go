package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"wxbackend/app"
	"wxbackend/domain"
)

// Authentication happens once per request, here: the token becomes the
// session of the app the request names (app.Authenticate), the per-session
// limit is applied, and the handler hands the session to its use case.

type authKey struct{}

// authenticate is the middleware of the token routes. A request with an
// Authorization header is authenticated before its body is read; one without
// (the seed's clients send the token in the body) is authenticated by its
// handler, once the size-capped body is read (see authOf).
func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok, err := bearer(r)
		if err != nil {
			writeError(w, r, h.log, err)
			return
		}
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		a, err := h.auth(r, raw)
		if err != nil {
			writeError(w, r, h.log, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), authKey{}, a)))
	})
}

// authOf returns the request's session: the middleware's, when the token came
// in the header (a body token then must name the same one), or else that of
// the body's token field, authenticated now.
func (h *handler) authOf(r *http.Request, f fields) (app.Authenticated, error) {
	if a, ok := r.Context().Value(authKey{}).(app.Authenticated); ok {
		if body := f.val("token"); body != "" {
			if t, err := domain.ParseToken(body); err != nil || t.Digest() != a.Token {
				return app.Authenticated{}, domain.Malformed("token", "the Authorization header and the body name different tokens")
			}
		}
		return a, nil
	}
	return h.auth(r, f.val("token"))
}

// auth authenticates raw for the app the request names and applies the
// per-session limit.
func (h *handler) auth(r *http.Request, raw string) (app.Authenticated, error) {
	named, err := appOf(r)
	if err != nil {
		return app.Authenticated{}, err
	}
	a, err := h.app.Authenticate.Handle(r.Context(), named, raw)
	if err != nil {
		return app.Authenticated{}, err
	}
	if err := h.limitSession(r.Context(), a); err != nil {
		return app.Authenticated{}, err
	}
	return a, nil
}

// bearer returns the token of "Authorization: Bearer", and whether there is
// one; a header of another scheme, or more than one header, is
// unauthenticated.
func bearer(r *http.Request) (string, bool, error) {
	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		// Proxies in front may pick another of them than this server would.
		return "", false, domain.Wrap(domain.KindUnauthenticated, errors.New("more than one Authorization header"))
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, nil
	}
	scheme, value, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false, domain.Wrap(domain.KindUnauthenticated, errors.New("authorization is not a bearer token"))
	}
	value = strings.TrimSpace(value)
	return value, value != "", nil
}
