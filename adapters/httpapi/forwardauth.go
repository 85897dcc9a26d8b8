package httpapi

import (
	"errors"
	"net/http"

	"wxbackend/app"
	"wxbackend/domain"
)

// Forward auth answers the question a proxy in front of a team's other
// services asks before it forwards a request: who is this? nginx
// auth_request, Caddy forward_auth, Traefik ForwardAuth and Envoy's HTTP
// ext_authz send the original request's headers (Envoy also its path, after
// a prefix: hence /auth/forward/*) with any method, and read the status and
// the headers of the answer; the proxy copies the identity headers to the
// upstream. The body is never read: the proxies send none, or one no one
// should wait for.

// ForwardAuthPath is the route a proxy calls; anything under it
// (ForwardAuthPath + "/…") is the same route.
const ForwardAuthPath = "/auth/forward"

// forwardAuthMethods are the methods forward auth answers: every method of
// HTTP a proxy forwards to a service (and the OpenAPI document can name).
var forwardAuthMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace}

// forwardAuth authenticates the request's bearer token for the app it names
// (Referer or X-WX-AppID, as on every route) with one session-store read and
// the per-session limit. A valid token is 200 (Envoy allows nothing else)
// with no body and the identity headers; anything else is the envelope with
// the outcome table's status: 401 (with WWW-Authenticate: Bearer) for no
// token, a bad one or an app the token is not for, 429 with Retry-After,
// 503 when the session store is down.
func (h *handler) forwardAuth(w http.ResponseWriter, r *http.Request) {
	a, err := h.forwardAuthOf(r)
	if err != nil {
		if domain.KindOf(err) == domain.KindUnauthenticated {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
		writeError(w, r, h.log, err)
		return
	}
	client := ""
	if ip := h.clientAddr(r); ip.IsValid() {
		client = ip.String()
	}
	hdr := w.Header()
	setIdentity(hdr, a.Session, SourceForwardAuth, client)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// errNoBearer is a forward-auth request without an Authorization header: a
// proxy asks only for the routes it protects, so no token is no access.
var errNoBearer = domain.Wrap(domain.KindUnauthenticated, errors.New("no bearer token"))

// forwardAuthOf authenticates r. An app named wrongly (a Referer of another
// shape, an app not served) is unauthenticated here rather than invalid
// input: the proxy's question is only whether to let the request through,
// and nginx turns any answer but 2xx, 401 and 403 into its own 500.
func (h *handler) forwardAuthOf(r *http.Request) (app.Authenticated, error) {
	raw, ok, err := bearer(r)
	switch {
	case err != nil:
		return app.Authenticated{}, err
	case !ok:
		return app.Authenticated{}, errNoBearer
	}
	a, err := h.auth(r, raw)
	if err != nil && domain.KindOf(err) == domain.KindInvalidInput {
		// The message still says what is wrong with the app named.
		return app.Authenticated{}, &domain.Error{Kind: domain.KindUnauthenticated, Msg: domain.ClientMessageOf(err), Err: err}
	}
	return a, err
}
