package httpapi

// WeChat's server API for the other services of a deployment (issue 25),
// on the internal listener with an API key of scope openapi, in two forms:
//
//   - origin-form: POST /wxa/msg_sec_check?… with the key in
//     Authorization: Bearer, and X-WX-APPID naming the app (optional when
//     one app is served);
//   - absolute-form: POST http://api.weixin.qq.com/wxa/msg_sec_check, from
//     a client that uses the listener as its HTTP proxy
//     (HTTP_PROXY=http://key:KEY@host:port, as code written for Cloud Run's
//     open API service does), the key in Proxy-Authorization.
//
// Either way the call goes to the configured WeChat base URL, never to a
// host the client named: an absolute-form request may only name WeChat's
// API (the configured proxy hosts, on port 80 or 443, or the base URL's
// own host and port); any other host, a URI with userinfo, a port of
// another, and CONNECT (an https tunnel cannot carry the app's token) are
// refused. The path is checked as sent, never cleaned (domain.ParseOpenAPIPath).

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"wxbackend/app"
	"wxbackend/config/setting"
	"wxbackend/domain"
)

// OpenAPIOptions configure the WeChat API pass-through of the internal
// listener; each tagged field is a setting (see config/setting).
type OpenAPIOptions struct {
	MaxBody int64 `setting:"openapi-max-body" default:"2097152" usage:"most bytes of a request body your services send to WeChat's API through the internal listener (openapi), then code 11"`
	// ProxyHosts are the host names a client using the listener as its HTTP
	// proxy may name, on port 80 or 443; the WeChat base URL's host and port
	// are admitted too.
	ProxyHosts []string `setting:"openapi-proxy-hosts" default:"api.weixin.qq.com" usage:"host names of WeChat's API that clients using the internal listener as HTTP_PROXY may call (on port 80 or 443; the WeChat base URL's host is admitted too); any other host is refused"`
}

// Check implements setting.Checker.
func (o *OpenAPIOptions) Check(p *setting.Problems) {
	if o.MaxBody <= 0 {
		p.Add(&o.MaxBody, "must be positive")
	}
	for _, h := range o.ProxyHosts {
		if h == "" || strings.ContainsAny(h, ":/@ ") {
			p.Add(&o.ProxyHosts, "%q is not a host name", h)
		}
	}
}

// openAPIProxy serves the pass-through.
type openAPIProxy struct {
	app     *app.App
	log     *slog.Logger
	maxBody int64
	hosts   map[string]bool // "name:port" an absolute-form request may name
}

// NewOpenAPIRoute returns the internal listener's route of WeChat's API for
// your services: every path no other route has ("/*"), any method, scope
// openapi. baseURL is the WeChat base URL the calls go to.
func NewOpenAPIRoute(a *app.App, log *slog.Logger, o OpenAPIOptions, baseURL string) (InternalRoute, error) {
	p := &openAPIProxy{app: a, log: log, maxBody: o.MaxBody, hosts: map[string]bool{}}
	for _, h := range o.ProxyHosts {
		h = strings.ToLower(h)
		p.hosts[h+":80"], p.hosts[h+":443"] = true, true
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return InternalRoute{}, errors.New("httpapi: the WeChat base URL is no URL")
	}
	p.hosts[hostPort(u)] = true
	return InternalRoute{Scope: domain.ScopeOpenAPI, Pattern: "/*", Handler: p}, nil
}

// hostPort is u's lowercased host name and port, the scheme's when u names
// none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// isProxyRequest reports whether r is addressed to an HTTP proxy: an
// absolute-form request URI, or CONNECT.
func isProxyRequest(r *http.Request) bool {
	return r.URL.IsAbs() || r.Method == http.MethodConnect
}

// The pass-through's own refusals.
var (
	errConnect = &transportError{outcome{1, http.StatusMethodNotAllowed, false},
		"CONNECT is refused: a tunnel cannot carry the app's access token; send plain http://api.weixin.qq.com/... through the proxy"}
	errNotWeChatHost = &domain.Error{Kind: domain.KindForbidden,
		Msg: "only WeChat's API host is proxied (http://api.weixin.qq.com/...)"}
)

func (p *openAPIProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := p.checkTarget(r); err != nil {
		writeError(w, r, p.log, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, p.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, r, p.log, errTooLarge)
			return
		}
		writeError(w, r, p.log, readErr(err))
		return
	}
	resp, err := p.app.OpenAPI.Handle(r.Context(), apiKeyOf(r), app.OpenAPICall{
		AppID: r.Header.Get("X-WX-APPID"), Method: r.Method, EscapedPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), Body: body})
	if err != nil {
		writeError(w, r, p.log, err)
		return
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// checkTarget refuses CONNECT, and an absolute-form request that names
// anything but WeChat's API over plain http.
func (p *openAPIProxy) checkTarget(r *http.Request) error {
	if r.Method == http.MethodConnect {
		return errConnect
	}
	if !r.URL.IsAbs() {
		return nil
	}
	u := r.URL
	if u.Scheme != "http" || u.User != nil || u.Opaque != "" || !p.hosts[hostPort(u)] {
		return errNotWeChatHost
	}
	return nil
}
