package httpapi

// The internal listener: a second address (loopback by default) for the
// other services of a deployment, never for mini-programs. Every route but
// its OpenAPI document needs an API key with the route's scope.
//
// To add a route group (issue 27's messages; issue 25's WeChat API is
// openapiproxy.go, the catch-all):
// write its handler in this package, calling its use case; take the caller's
// key with apiKeyOf (check key.AllowsApp for the app the request names: a 403
// is domain.ErrForbidden); and give it to the router as one InternalRoute,
// which the composition root provides in the fx group "internal_routes":
//
//	InternalRoute{Scope: domain.ScopeMessages, Method: http.MethodPost, Pattern: "/v1/messages", Handler: h}
//
// A catch-all ("/*") receives whatever no other route matches, absolute-form
// requests of a client using the listener as its HTTP proxy included
// (their r.URL has a host; the path is routed as any other).

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/app"
	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// InternalOptions configure the internal listener; each tagged field is a
// setting (see config/setting). Its timeouts are the public listener's.
type InternalOptions struct {
	Addr string `setting:"internal-addr" default:"127.0.0.1:8081" usage:"address of the internal listener for other services (introspection; API key required, from WXB_INTERNAL_KEYS_FILE, without which it is off); keep it off the internet"`
}

// Check implements setting.Checker.
func (o *InternalOptions) Check(p *setting.Problems) {
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		p.Add(&o.Addr, "%q is not host:port", o.Addr)
	}
}

// InternalRoute is a route of the internal listener: every request to
// Pattern (a chi pattern) with Method ("" any) needs a key with Scope.
type InternalRoute struct {
	Scope   domain.Scope
	Method  string
	Pattern string
	Handler http.Handler
}

// InternalObserver is told of every request of the internal listener once
// it is answered: its route pattern ("" when none matched), the name of
// its API key ("" when none was accepted: never the key), its HTTP status
// and its duration.
type InternalObserver func(route, key string, status int, d time.Duration)

// OpenAPIInternal is the OpenAPI 3.1 document of the internal listener
// (openapi-internal.json, served at its GET /openapi.json;
// docs/openapi-internal.json is a copy that a test keeps equal).
//
//go:embed openapi-internal.json
var OpenAPIInternal []byte

// introspectMaxBody bounds an introspection request: a token is 66
// characters.
const introspectMaxBody = 4 << 10

// internal serves the internal listener's routes.
type internal struct {
	handler // its use cases and log, and what the public routes share (recoverer, 404, 405)
	keys    ports.APIKeys
	observe InternalObserver // nil: none
}

// NewInternalRouter returns the internal listener's handler: request ids,
// an access log naming each request's key (by name), panics turned into
// code 10, the contract's envelope and error table, POST /introspect, and
// routes, each behind its scope.
func NewInternalRouter(a *app.App, keys ports.APIKeys, log *slog.Logger, observe InternalObserver, routes ...InternalRoute) http.Handler {
	h := &internal{handler: handler{app: a, log: log}, keys: keys, observe: observe}
	r := chi.NewRouter()
	var proxy http.Handler // the catch-all's, when there is one: see proxyRequests
	r.Use(withRequestID, h.accessLog, h.recoverer, proxyRequests(&proxy))
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.methodNotAllowed)
	r.Get("/openapi.json", func(w http.ResponseWriter, _ *http.Request) { serveDocument(w, OpenAPIInternal) })
	routes = append([]InternalRoute{
		{Scope: domain.ScopeIntrospect, Method: http.MethodPost, Pattern: "/introspect", Handler: http.HandlerFunc(h.introspect)},
	}, routes...)
	for _, rt := range routes {
		if rt.Pattern == "/*" {
			proxy = chi.Chain(h.requireScope(rt.Scope)).Handler(rt.Handler)
		}
		g := r.With(h.requireScope(rt.Scope))
		if rt.Method == "" {
			g.Handle(rt.Pattern, rt.Handler)
		} else {
			g.Method(rt.Method, rt.Pattern, rt.Handler)
		}
	}
	return r
}

// proxyRequests sends every request made to an HTTP proxy (absolute-form,
// CONNECT) to the catch-all route (*proxy, behind its scope), whatever its
// path: http://evil.example/introspect names another host, not this
// listener's route. Without a catch-all they are routed as any other.
func proxyRequests(proxy *http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if *proxy == nil || !isProxyRequest(r) {
				next.ServeHTTP(w, r)
				return
			}
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				rctx.RoutePatterns = append(rctx.RoutePatterns, "/*") // for the access log and metrics
			}
			(*proxy).ServeHTTP(w, r)
		})
	}
}

// keyNote is where requireScope leaves the name of a request's key for the
// access log, which runs outside it.
type keyNote struct{ name string }

type keyNoteCtx struct{}
type apiKeyCtx struct{}

// apiKeyOf returns the API key requireScope accepted for r.
func apiKeyOf(r *http.Request) domain.APIKey {
	k, _ := r.Context().Value(apiKeyCtx{}).(domain.APIKey)
	return k
}

// requireScope admits a request whose API key (presentedKey) is known and
// has scope, before anything of its body is read; it takes the key's
// header off the request, so no handler can pass it on. No key or an
// unknown one is code 2 (401) with WWW-Authenticate; a key without the
// scope is code 13 (403).
func (h *internal) requireScope(scope domain.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, header, err := presentedKey(r)
			var key domain.APIKey
			if err == nil {
				key, err = h.keys.Lookup(r.Context(), raw)
			}
			if err != nil {
				if domain.KindOf(err) == domain.KindUnauthenticated {
					if isProxyRequest(r) { // a client using the listener as its HTTP proxy
						w.Header().Set("Proxy-Authenticate", `Basic realm="wxbackend"`)
						writeError(w, r, h.log, errProxyAuth)
						return
					}
					err = &domain.Error{Kind: domain.KindUnauthenticated, Msg: "missing or unknown API key", Err: err}
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="wxbackend internal"`)
				writeError(w, r, h.log, err)
				return
			}
			if n, ok := r.Context().Value(keyNoteCtx{}).(*keyNote); ok {
				n.name = key.Name
			}
			if !key.Allows(scope, "") {
				writeError(w, r, h.log, &domain.Error{Kind: domain.KindForbidden, Msg: "the API key has no scope " + string(scope)})
				return
			}
			r.Header.Del(header)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiKeyCtx{}, key)))
		})
	}
}

var errNoKey = errors.New("no API key")

// errProxyAuth answers a proxy request (absolute-form, CONNECT) without a
// known key as a proxy does: 407, with Proxy-Authenticate.
var errProxyAuth = &transportError{outcome{2, http.StatusProxyAuthRequired, false},
	"missing or unknown API key: give it as the proxy's password (HTTP_PROXY=http://key:KEY@host:port)"}

// presentedKey returns the API key of r and the header it came in:
// Proxy-Authorization, Basic (the key as the password, or as the user
// name when there is no password: what a client sends for
// HTTP_PROXY=http://user:KEY@host:port) or Bearer; else Authorization:
// Bearer. More than one header of a kind, or another scheme, is no key.
func presentedKey(r *http.Request) (key, header string, err error) {
	proxy := r.Header.Values("Proxy-Authorization")
	if len(proxy) == 0 {
		raw, ok, err := bearer(r)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", domain.Wrap(domain.KindUnauthenticated, errNoKey)
		}
		return raw, "Authorization", nil
	}
	if len(proxy) > 1 {
		return "", "", domain.Wrap(domain.KindUnauthenticated, errors.New("more than one Proxy-Authorization header"))
	}
	scheme, value, _ := strings.Cut(proxy[0], " ")
	value = strings.TrimSpace(value)
	switch {
	case strings.EqualFold(scheme, "Bearer") && value != "":
		return value, "Proxy-Authorization", nil
	case strings.EqualFold(scheme, "Basic"):
		b, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return "", "", domain.Wrap(domain.KindUnauthenticated, errors.New("Proxy-Authorization: Basic is not base64"))
		}
		user, pass, _ := strings.Cut(string(b), ":")
		if pass == "" {
			pass = user
		}
		if pass == "" {
			return "", "", domain.Wrap(domain.KindUnauthenticated, errNoKey)
		}
		return pass, "Proxy-Authorization", nil
	}
	return "", "", domain.Wrap(domain.KindUnauthenticated, errors.New("Proxy-Authorization is neither Basic nor Bearer"))
}

// accessLog logs one line per request, with its key's name (key=orders),
// and reports it to the observer: never a body, a query or a header.
func (h *internal) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		note := &keyNote{}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), keyNoteCtx{}, note)))
		route, d := logAccess(h.log, r, rec, start, "internal request", slog.String("key", note.name))
		if h.observe != nil {
			h.observe(route, note.name, rec.status, d)
		}
	})
}

// introspect answers POST /introspect (RFC 7662): a form (or JSON) with
// token (token_type_hint is read and ignored: there is one kind of token).
// Active or not, the answer is 200; a missing token is code 1.
func (h *internal) introspect(w http.ResponseWriter, r *http.Request) {
	f, err := readFields(r, introspectMaxBody, "token", "token_type_hint")
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	if f.val("token") == "" {
		writeError(w, r, h.log, domain.Missing("token"))
		return
	}
	res, err := h.app.Introspect.Handle(r.Context(), apiKeyOf(r), f.val("token"))
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	out := apiclient.Introspection{Active: res.Active}
	if res.Active {
		s := res.Session
		out = apiclient.Introspection{Active: true, Subject: s.OpenID, AppID: s.AppID, UnionID: s.UnionID,
			ExpiresAt: s.ExpiresAt.Unix(), TokenType: "Bearer", ClientID: s.AppID}
		if !s.IssuedAt.IsZero() {
			out.IssuedAt = s.IssuedAt.Unix()
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
