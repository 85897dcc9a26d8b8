package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/system"
	"wxbackend/adapters/testenv"
)

// received is what an upstream got: a request's path, query, headers and
// body size.
type received struct {
	Path, Query string
	Header      http.Header
	Body        int64
}

// recordingUpstream is a service behind the gateway that answers 200 with
// the headers it received as JSON, and hands each request to got.
func recordingUpstream(t *testing.T) (*httptest.Server, chan received) {
	t.Helper()
	got := make(chan received, 16)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		rec := received{Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: n}
		got <- rec
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rec)
	}))
	t.Cleanup(up.Close)
	return up, got
}

// gatewayed is the fixture's use cases behind a real server whose router
// forwards to ups; it returns the server's base URL and the metrics the
// gateway reported.
type gatewayed struct {
	*fixture
	base string
	logs *syncBuilder

	mu       sync.Mutex
	observed []string // "upstream status"
}

func newGatewayed(t *testing.T, limits httpapi.Limits, ups ...httpapi.Upstream) *gatewayed {
	t.Helper()
	return newGatewayedTimeout(t, 5*time.Second, limits, ups...)
}

// newGatewayedTimeout is newGatewayed with the server's read and write
// timeouts given.
func newGatewayedTimeout(t *testing.T, timeout time.Duration, limits httpapi.Limits, ups ...httpapi.Upstream) *gatewayed {
	t.Helper()
	g := &gatewayed{fixture: newFixture(t, nil), logs: &syncBuilder{}}
	log := slog.New(slog.NewTextHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := httpapi.NewRouter(g.app, log, httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		AvatarMaxBytes: 256 << 10, Upstreams: ups, ObserveGateway: func(name string, status int, _ time.Duration) {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.observed = append(g.observed, name+" "+http.StatusText(status))
		}}, g.clock, limits, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := httpapi.NewServer(h, log, httpapi.ServerOptions{Addr: "127.0.0.1:0", ReadHeaderTimeout: time.Second,
		ReadTimeout: timeout, WriteTimeout: timeout, IdleTimeout: time.Second, ShutdownTimeout: time.Second})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(t.Context()) })
	g.base = "http://" + s.Addr()
	return g
}

// loginAs logs openid (with unionid, when not "") in and returns its token.
func (g *gatewayed) loginAs(t *testing.T, code, openid, unionid string) string {
	t.Helper()
	g.wechat.AddCode(code, openid, unionid, key1)
	r := g.do(t, "POST", "/api/v1/login", map[string]any{"code": code})
	want(t, r, 0, 200)
	var d struct{ Token string }
	_ = json.Unmarshal(r.Data, &d)
	return d.Token
}

// send sends a request to the gateway's server with headers given as
// name, value pairs, set verbatim (no canonical spelling), and returns the
// answer with its body read.
func (g *gatewayed) send(t *testing.T, method, path string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, g.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header[header[i]] = append(req.Header[header[i]], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// wantRefusal fails unless the answer is the gateway's own envelope of
// code and HTTP status.
func wantRefusal(t *testing.T, res *http.Response, body []byte, code, status int) {
	t.Helper()
	var env struct{ Code, Status int }
	if err := json.Unmarshal(body, &env); err != nil || res.StatusCode != status || env.Code != code || env.Status != code {
		t.Fatalf("got HTTP %d %s, want code %d HTTP %d", res.StatusCode, body, code, status)
	}
}

// identityOf returns the headers of r that a client must never set, by
// their canonical name: what the upstream believes about its caller.
func identityOf(h http.Header) map[string]string {
	out := map[string]string{}
	for name, v := range h {
		n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if strings.HasPrefix(n, "x-wx-") || n == "x-original-forwarded-for" || n == "authorization" {
			out[name] = strings.Join(v, " | ")
		}
	}
	return out
}

// spoofed are a client's identity headers in many spellings.
var spoofed = []string{
	"X-WX-OPENID", "evil", "x-wx-openid", "evil2", "X_WX_OPENID", "evil3", "x_Wx_OpenId", "evil4",
	"X-WX-UNIONID", "u-evil", "x_wx_unionid", "u-evil2", "x_wx_appid", "wxevil", "X-WX-SOURCE", "evil",
	"X-Wx-Env", "prod", "X-Original-Forwarded-For", "6.6.6.6", "x_original_forwarded_for", "6.6.6.7",
}

func waitOne(t *testing.T, got chan received) received {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream got no request")
		return received{}
	}
}

func TestGateway_ForwardsTheSessionsIdentityAndNothingTheClientClaims(t *testing.T) {
	up, got := recordingUpstream(t)
	g := newGatewayed(t, httpapi.Limits{},
		httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL + "/base", StripPrefix: true},
		httpapi.Upstream{Name: "kept", Prefix: "/kept/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-1", "u-1")

	res, body := g.send(t, "POST", "/app/orders?id=7", strings.NewReader(`{"n":1}`),
		append([]string{"Authorization", "Bearer " + tok, "X-Request-Id", "trace-1", "X-WX-AppID", appID}, spoofed...)...)
	if res.StatusCode != 200 {
		t.Fatalf("HTTP %d %s", res.StatusCode, body)
	}
	r := waitOne(t, got)
	if r.Path != "/base/orders" || r.Query != "id=7" || r.Body != 7 {
		t.Fatalf("upstream got %s?%s with %d bytes", r.Path, r.Query, r.Body)
	}
	wantIDs := map[string]string{"X-Wx-Openid": "o-1", "X-Wx-Appid": appID, "X-Wx-Unionid": "u-1",
		"X-Wx-Source": httpapi.SourceGateway, "X-Original-Forwarded-For": "127.0.0.1"}
	if ids := identityOf(r.Header); !equalMaps(ids, wantIDs) {
		t.Fatalf("upstream's identity headers %v, want %v", ids, wantIDs)
	}
	if r.Header.Get("X-Request-Id") != "trace-1" || res.Header.Values("X-Request-Id")[0] != "trace-1" || len(res.Header.Values("X-Request-Id")) != 1 {
		t.Fatalf("request id: upstream %q, client %q", r.Header.Get("X-Request-Id"), res.Header.Values("X-Request-Id"))
	}

	// The prefix is kept when so configured.
	g.send(t, "GET", "/kept/a/b", nil, "Authorization", "Bearer "+tok)
	if r := waitOne(t, got); r.Path != "/kept/a/b" || r.Header.Get("X-Wx-Openid") != "o-1" {
		t.Fatalf("kept prefix: %s, openid %q", r.Path, r.Header.Get("X-Wx-Openid"))
	}
}

// A user WeChat gave no unionid cannot give themselves one.
func TestGateway_UserWithoutUnionIDCannotSendOne(t *testing.T) {
	up, got := recordingUpstream(t)
	g := newGatewayed(t, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-2", "")
	g.send(t, "GET", "/app/me", nil, "Authorization", "Bearer "+tok, "X-WX-UNIONID", "someone-else", "x_wx_unionid", "x")
	r := waitOne(t, got)
	wantIDs := map[string]string{"X-Wx-Openid": "o-2", "X-Wx-Appid": appID,
		"X-Wx-Source": httpapi.SourceGateway, "X-Original-Forwarded-For": "127.0.0.1"}
	if ids := identityOf(r.Header); !equalMaps(ids, wantIDs) {
		t.Fatalf("upstream's identity headers %v, want %v", ids, wantIDs)
	}
}

func TestGateway_NoOrBadTokenIsCode2AndNothingIsForwarded(t *testing.T) {
	up, got := recordingUpstream(t)
	g := newGatewayed(t, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL,
		Public: []string{"/app/static/"}})
	tok := g.loginAs(t, "c1", "o-1", "")
	for name, header := range map[string][]string{
		"no token":           nil,
		"unknown token":      {"Authorization", "Bearer " + strings.Repeat("A", len(tok))},
		"not bearer":         {"Authorization", "Basic " + tok},
		"two authorizations": {"Authorization", "Bearer " + tok, "Authorization", "Bearer " + tok},
		"spoofed identity":   spoofed,
		"token in the body":  {"Content-Type", "application/json"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/app/orders", "/app/static/../orders", "/app/static/%2e%2e/orders", "/app/static/..;/orders"} {
				res, body := g.send(t, "POST", path, strings.NewReader(`{"token":"`+tok+`"}`), header...)
				wantRefusal(t, res, body, 2, 401)
			}
		})
	}
	select {
	case r := <-got:
		t.Fatalf("an unauthenticated request reached the upstream: %s", r.Path)
	default:
	}
	if strings.Contains(g.logs.String(), tok) {
		t.Fatal("a token was logged")
	}
}

func TestGateway_PublicPathsCarryNoIdentity(t *testing.T) {
	up, got := recordingUpstream(t)
	g := newGatewayed(t, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL,
		Public: []string{"/app/health", "/app/static/"}})
	tok := g.loginAs(t, "c1", "o-1", "u-1")
	for _, path := range []string{"/app/health", "/app/static/a.css"} {
		for _, header := range [][]string{spoofed, {"Authorization", "Bearer " + tok}} {
			res, body := g.send(t, "GET", path, nil, header...)
			if res.StatusCode != 200 {
				t.Fatalf("%s: HTTP %d %s", path, res.StatusCode, body)
			}
			if ids := identityOf(waitOne(t, got).Header); len(ids) != 0 {
				t.Fatalf("%s: a public path's upstream got %v", path, ids)
			}
		}
	}
	// Only the listed paths: /app/healthz is not /app/health.
	res, body := g.send(t, "GET", "/app/healthz", nil)
	wantRefusal(t, res, body, 2, 401)
}

func TestGateway_PerSessionLimitApplies(t *testing.T) {
	up, got := recordingUpstream(t)
	limiter := memory.NewRateLimiter(1, time.Minute, system.Clock{})
	g := newGatewayed(t, httpapi.Limits{Session: limiter}, httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-1", "")
	if res, body := g.send(t, "GET", "/app/a", nil, "Authorization", "Bearer "+tok); res.StatusCode != 200 {
		t.Fatalf("first: HTTP %d %s", res.StatusCode, body)
	}
	waitOne(t, got)
	res, body := g.send(t, "GET", "/app/a", nil, "Authorization", "Bearer "+tok)
	wantRefusal(t, res, body, 7, 429)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on code 7")
	}
}

func TestGateway_BodiesUpToTheLimitOnly(t *testing.T) {
	up, got := recordingUpstream(t)
	g := newGatewayed(t, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL, MaxBody: 1 << 20})
	tok := g.loginAs(t, "c1", "o-1", "")
	auth := []string{"Authorization", "Bearer " + tok}

	big := bytes.Repeat([]byte("x"), 1<<20)
	if res, body := g.send(t, "PUT", "/app/file", bytes.NewReader(big), auth...); res.StatusCode != 200 {
		t.Fatalf("a body at the limit: HTTP %d %s", res.StatusCode, body)
	}
	if r := waitOne(t, got); r.Body != 1<<20 {
		t.Fatalf("upstream got %d bytes", r.Body)
	}

	// Declared too large: refused before anything is forwarded.
	res, body := g.send(t, "PUT", "/app/file", bytes.NewReader(append(big, 'y')), auth...)
	wantRefusal(t, res, body, 11, 413)
	select {
	case r := <-got:
		t.Fatalf("a body over the limit reached the upstream: %d bytes", r.Body)
	default:
	}
	// Of unknown length (chunked): cut at the limit, code 11 all the same.
	res, body = g.send(t, "PUT", "/app/file", io.MultiReader(bytes.NewReader(big), strings.NewReader("y")), auth...)
	wantRefusal(t, res, body, 11, 413)
}

func TestGateway_UpstreamFailuresAreCode8(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	downAddr := testenv.HangUp(t) // an upstream that hangs up on every connection
	down := "http://" + downAddr
	g := newGatewayed(t, httpapi.Limits{},
		httpapi.Upstream{Name: "slow", Prefix: "/slow/", URL: slow.URL, Timeout: httpapi.Duration{Duration: 200 * time.Millisecond}},
		httpapi.Upstream{Name: "down", Prefix: "/down/", URL: down})
	tok := g.loginAs(t, "c1", "o-1", "")

	res, body := g.send(t, "GET", "/slow/x", nil, "Authorization", "Bearer "+tok)
	wantRefusal(t, res, body, 8, 504)
	res, body = g.send(t, "GET", "/down/x", nil, "Authorization", "Bearer "+tok)
	wantRefusal(t, res, body, 8, 502)
	if strings.Contains(string(body), downAddr) {
		t.Fatalf("the upstream's address reached the client: %s", body)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if want := []string{"slow Gateway Timeout", "down Bad Gateway"}; !equalSlices(g.observed, want) {
		t.Fatalf("observed %v, want %v", g.observed, want)
	}
}

// The upstream's own answers pass as they are: its status, body and
// Retry-After; hop-by-hop headers, and those Connection names, are dropped
// both ways.
func TestGateway_PassesAnswersAndDropsHopByHopHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Connection", "X-Up-Private")
		w.Header().Set("X-Up-Private", "secret")
		w.Header().Set("X-Up-Public", "ok")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "busy")
	}))
	t.Cleanup(up.Close)
	g := newGatewayed(t, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-1", "")
	res, body := g.send(t, "GET", "/app/x", nil, "Authorization", "Bearer "+tok,
		"Connection", "X-Foo, keep-alive", "X-Foo", "bar", "X-Bar", "ok", "Proxy-Authorization", "Basic eA==")
	if res.StatusCode != 503 || string(body) != "busy" || res.Header.Get("Retry-After") != "7" {
		t.Fatalf("HTTP %d %q Retry-After %q", res.StatusCode, body, res.Header.Get("Retry-After"))
	}
	if res.Header.Get("X-Up-Private") != "" || res.Header.Get("X-Up-Public") != "ok" {
		t.Fatalf("answer headers %v", res.Header)
	}
	h := <-got
	if h.Get("X-Foo") != "" || h.Get("Proxy-Authorization") != "" || h.Get("X-Bar") != "ok" {
		t.Fatalf("upstream got X-Foo %q, Proxy-Authorization %q, X-Bar %q", h.Get("X-Foo"), h.Get("Proxy-Authorization"), h.Get("X-Bar"))
	}
}

// waitObserved waits until the gateway has reported what the observer
// last got: a stream is reported once it ends.
func (g *gatewayed) waitObserved(t *testing.T, last string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		seen := slices.Clone(g.observed)
		g.mu.Unlock()
		if len(seen) > 0 && seen[len(seen)-1] == last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("observed %v, want the last to be %q", seen, last)
		}
		<-time.After(5 * time.Millisecond) // polling, with the deadline above
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func equalSlices(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// A request that declares an identity header as a trailer (sent after the
// body, past any header check) is refused before it is forwarded.
func TestGateway_IdentityTrailersAreRefused(t *testing.T) {
	up, got := recordingUpstream(t)
	g := newGatewayed(t, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-1", "")
	req, _ := http.NewRequestWithContext(t.Context(), "POST", g.base+"/app/x", io.MultiReader(strings.NewReader("body")))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Trailer = http.Header{"X-Wx-Openid": {"evil"}}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	wantRefusal(t, res, body, 1, 400)
	select {
	case r := <-got:
		t.Fatalf("the upstream got %s", r.Path)
	default:
	}
}
