package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"wxbackend/domain"
)

// The built-in gateway forwards a mini-program's requests under a prefix to
// a service behind wxbackend, with the identity headers of Cloud Run's
// conventions set from the session (see identity.go). Decisions, documented
// in the contract:
//   - The token comes from "Authorization: Bearer" only, checked before the
//     body is read. The seed's body token field is not read: bodies are
//     the upstream's, of any type and size, and are streamed untouched.
//   - The Authorization header is not forwarded: a service behind the
//     gateway learns who calls from the identity headers, and a bearer
//     token handed to every service could be replayed by any of them.
//   - Public paths are forwarded without identity headers, token or not;
//     client-sent identity headers are removed from every request.

// GatewayObserver is told of every request under a gateway prefix once it is
// answered: the upstream's name, the HTTP status the client got (the
// upstream's, or the gateway's own when it refused or the upstream failed;
// 101 for a WebSocket) and how long the exchange took (a stream's whole
// life).
type GatewayObserver func(upstream string, status int, d time.Duration)

// gateway forwards the requests under one upstream's prefix.
type gateway struct {
	h       *handler
	up      Upstream
	observe GatewayObserver // nil: none
	proxy   *httputil.ReverseProxy
	target  *url.URL
}

// exchange is what the proxy's callbacks learn of one request: whom it is
// forwarded for (nil: a public path) and the status answered.
type exchange struct {
	session *domain.Session
	client  string
	status  int
	body    *bodyInTime // a public request's body; nil: none, or a token's
}

type exchangeKey struct{}

// mountGateway routes each upstream's prefix to its gateway. It checks the
// upstreams again (a caller may build them without a file) and refuses a
// prefix that shadows a contract route.
func (h *handler) mountGateway(r chi.Router, list []Upstream, observe GatewayObserver) error {
	for i := range list {
		up := list[i]
		up.fillDefaults()
		if errs := up.check(); len(errs) > 0 {
			return fmt.Errorf("gateway upstream %q: %w", up.Name, errors.Join(errs...))
		}
		target, _ := url.Parse(up.URL) // checked
		g := &gateway{h: h, up: up, observe: observe, target: target}
		g.proxy = &httputil.ReverseProxy{
			Rewrite:        g.rewrite,
			Transport:      upstreamTransport(up),
			ModifyResponse: g.modifyResponse,
			ErrorHandler:   g.proxyError,
			ErrorLog:       slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
			BufferPool:     copyBuffers,
			// FlushInterval 0: ReverseProxy already flushes every write of
			// a text/event-stream answer, and of one of unknown length (a
			// stream), so events arrive as they are sent; a sized answer is
			// copied in large writes.
		}
		r.Handle(up.Prefix+"*", g)
	}
	if errs := checkOverlaps(list); len(errs) > 0 {
		return fmt.Errorf("gateway: %w", errors.Join(errs...))
	}
	return nil
}

// copyBuffers are the buffers ReverseProxy copies answers with, shared by
// every upstream: without a pool it allocates 32 KiB per request.
var copyBuffers httputil.BufferPool = &bufferPool{pool: sync.Pool{New: func() any { return new([32 << 10]byte) }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte { return p.pool.Get().(*[32 << 10]byte)[:] }
func (p *bufferPool) Put(b []byte) {
	if cap(b) == 32<<10 {
		p.pool.Put((*[32 << 10]byte)(b[:cap(b)]))
	}
}

// upstreamTransport is the connection pool of one upstream: its timeout
// bounds the wait for an answer's headers; a stream is bounded by the
// request's context (StreamTimeout).
func upstreamTransport(up Upstream) *http.Transport {
	dial := &net.Dialer{Timeout: min(up.Timeout.Duration, 10*time.Second), KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           dial.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(up.Timeout.Duration, 10*time.Second),
		ResponseHeaderTimeout: up.Timeout.Duration,
		ExpectContinueTimeout: time.Second,
	}
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ex := &exchange{}
	defer func() {
		if g.observe != nil {
			g.observe(g.up.Name, ex.status, time.Since(start))
		}
	}()
	if err := g.admit(r, ex); err != nil {
		ex.status = g.fail(w, r, err)
		return
	}
	// The server's read and write timeouts are for the contract's short
	// exchanges; a gateway exchange (an upload, a stream, a WebSocket,
	// which keeps the connection's deadlines once hijacked) gets its
	// upstream's stream timeout instead, and its context ends then too.
	deadline := start.Add(g.up.StreamTimeout.Duration)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(deadline)
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	r = r.WithContext(context.WithValue(ctx, exchangeKey{}, ex))
	if r.Body != nil && r.Body != http.NoBody {
		srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
		if ex.session == nil && srv != nil && srv.ReadTimeout > 0 {
			// No token (a public path): the body gets the server's read
			// timeout, as on every route without one, else one client
			// could hold connections for the stream timeout by sending
			// nothing; once it is in, the answer may stream.
			b := &bodyInTime{ReadCloser: r.Body, deadline: time.Now().Add(srv.ReadTimeout),
				whole: func() { _ = rc.SetReadDeadline(deadline) }}
			_ = rc.SetReadDeadline(b.deadline)
			ex.body, r.Body = b, b
		} else {
			_ = rc.SetReadDeadline(deadline)
		}
		r.Body = http.MaxBytesReader(w, r.Body, g.up.MaxBody)
	} else {
		_ = rc.SetReadDeadline(deadline)
	}
	g.proxy.ServeHTTP(w, r)
}

// bodyInTime is a request body that must be whole by its deadline (the
// connection's read deadline until then); whole runs once it is.
type bodyInTime struct {
	io.ReadCloser
	deadline time.Time
	whole    func()
	done     atomic.Bool
}

func (b *bodyInTime) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done.Swap(true) {
		b.whole()
	}
	return n, err
}

// timedOut reports whether the body was not whole by its deadline. The
// read's own error cannot tell: net/http cancels the request's context
// when the read fails, and the proxy may see that first.
func (b *bodyInTime) timedOut() bool {
	return b != nil && !b.done.Load() && !time.Now().Before(b.deadline)
}

// admit decides whether r is forwarded, and for whom: a public path for
// anyone, any other for the session of its bearer token, authenticated and
// limited like every token route. A body declared too large is refused
// before anything else is done.
func (g *gateway) admit(r *http.Request, ex *exchange) error {
	if r.ContentLength > g.up.MaxBody {
		return errTooLarge
	}
	for name := range r.Trailer {
		if isIdentityHeader(name) {
			return domain.Malformed("trailer", "a request may not declare an identity header as a trailer")
		}
	}
	if a := g.h.clientAddr(r); a.IsValid() {
		ex.client = a.String()
	}
	if g.isPublic(r) {
		return nil
	}
	raw, _, err := bearer(r)
	if err != nil {
		return err
	}
	a, err := g.h.auth(r, raw) // no token: code 2, as on every token route
	if err != nil {
		return err
	}
	if hasDotSegment(r.URL.Path) {
		return errDotSegment
	}
	ex.session = &a.Session
	return nil
}

// errDotSegment refuses a path that an upstream could resolve outside the
// prefix, or above the base path of its URL ("/app/../admin").
var errDotSegment = domain.Malformed("path", `a "." or ".." segment may not leave the prefix`)

// hasDotSegment reports whether the (decoded) path p has a "." or ".."
// segment as an upstream might read it: "\" as "/" (Windows servers), and a
// segment's ";" parameters ignored (Tomcat reads "/..;/" as "/../").
func hasDotSegment(p string) bool {
	for seg := range strings.FieldsFuncSeq(p, func(c rune) bool { return c == '/' || c == '\\' }) {
		seg, _, _ = strings.Cut(seg, ";")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// isPublic reports whether r's path is one of the upstream's public paths.
// A path that is not clean ("//", "." or ".." segments, encoded or not), or
// that holds ';' or '\' (which some servers read as path syntax), is never
// public: an upstream could resolve it to a path that is not.
func (g *gateway) isPublic(r *http.Request) bool {
	p := r.URL.Path
	if len(g.up.Public) == 0 || !isCleanPath(p) || strings.ContainsAny(p, ";\\") {
		return false
	}
	for _, pub := range g.up.Public {
		if p == pub || (strings.HasSuffix(pub, "/") && strings.HasPrefix(p, pub)) {
			return true
		}
	}
	return false
}

// rewrite builds the upstream's request: the path (prefix kept or
// stripped), X-Forwarded-*, this request's id, no Authorization, and the
// identity headers from the session, or none on a public path. ReverseProxy
// has removed the hop-by-hop headers (and those Connection names) already.
func (g *gateway) rewrite(pr *httputil.ProxyRequest) {
	ex, _ := pr.In.Context().Value(exchangeKey{}).(*exchange)
	out := pr.Out
	// The header gets up to rewriteAdds names more: made that large at
	// once, rather than grown (rehashed) while they are set.
	h := make(http.Header, len(out.Header)+rewriteAdds)
	for k, v := range out.Header {
		h[k] = v
	}
	out.Header = h
	if g.up.StripPrefix {
		// chi matched the prefix on the escaped path when there is one.
		rest := strings.TrimPrefix(pr.In.URL.Path, g.up.Prefix)
		out.URL.Path = "/" + rest
		out.URL.RawPath = ""
		if raw := pr.In.URL.RawPath; raw != "" && strings.HasPrefix(raw, g.up.Prefix) {
			out.URL.RawPath = "/" + strings.TrimPrefix(raw, g.up.Prefix)
		}
	}
	pr.SetURL(g.target)
	pr.SetXForwarded()
	out.Header.Del("Authorization")
	out.Header.Set(RequestIDHeader, requestID(pr.In.Context()))
	if ex != nil && ex.session != nil {
		setIdentity(out.Header, *ex.session, SourceGateway, ex.client)
	} else {
		stripIdentity(out.Header)
	}
}

// rewriteAdds counts the names rewrite may add: X-Forwarded-For, -Host and
// -Proto, the request id, the five identity headers.
const rewriteAdds = 9

// modifyResponse notes the upstream's status, and drops its request id:
// the client gets this server's (already set), which the upstream got too.
func (g *gateway) modifyResponse(res *http.Response) error {
	if ex, ok := res.Request.Context().Value(exchangeKey{}).(*exchange); ok {
		ex.status = res.StatusCode
	}
	res.Header.Del(RequestIDHeader)
	return nil
}

// proxyError answers a request the upstream did not answer: code 11 for a
// body past the limit, code 8 with 504 when it timed out (or the stream
// timeout ended the exchange), code 8 with 502 when it is down or broke
// the connection.
func (g *gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	var ne net.Error
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	switch {
	case errors.As(err, &tooLarge):
		err = errTooLarge
	case ex != nil && ex.body.timedOut():
		err = errBodyTimeout
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		err = fmt.Errorf("gateway upstream %s: %w: %v", g.up.Name, errGatewayTimeout, err)
	default:
		err = fmt.Errorf("gateway upstream %s: %w: %v", g.up.Name, errGatewayDown, err)
	}
	status := g.fail(w, r, err)
	if ex != nil {
		ex.status = status
	}
}

// fail answers err by the outcome table and returns the status answered.
func (g *gateway) fail(w http.ResponseWriter, r *http.Request, err error) int {
	writeError(w, r, g.h.log, err)
	if rec, ok := w.(*recorder); ok {
		return rec.status
	}
	o, _ := outcomeOf(err)
	return o.status
}
