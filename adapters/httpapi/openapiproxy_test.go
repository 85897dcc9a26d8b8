package httpapi_test

import (
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// The pass-through's answers, refusals included, are what the internal
// document says (its single-segment paths: the document's router matches
// /{path} on one segment).
func TestOpenAPIProxy_AnswersAreTheInternalDocuments(t *testing.T) {
	clock := portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, clock),
		Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{portfake.NewWeChat(appID)},
		Clock: clock, Tokens: &portfake.Tokens{}, AccessTokens: memory.NewTokenCache(clock),
		OpenAPIPaths:   map[string][]string{appID: {"ping"}},
		OpenAPILimiter: func(n int) ports.RateLimiter { return memory.NewRateLimiter(n, time.Minute, clock) }},
		app.Options{SessionTTL: time.Hour, OpenAPIPerMinute: 2})
	if err != nil {
		t.Fatal(err)
	}
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keys.toml")
	if err := os.WriteFile(path, []byte(apikeys.Block(apikeys.Entry{Name: "jobs", SHA256: digest, Scopes: []string{"openapi"}})), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	keys, err := apikeys.Open(path, log)
	if err != nil {
		t.Fatal(err)
	}
	route, err := httpapi.NewOpenAPIRoute(svc, log, httpapi.OpenAPIOptions{MaxBody: 64, ProxyHosts: []string{"api.weixin.qq.com"}}, "https://api.weixin.qq.com")
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.NewInternalRouter(svc, keys, log, nil, route)
	send := func(method, target, body string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if err := checkInternal(req, rec); err != nil {
			t.Errorf("%s %s: %v", method, target, err)
		}
		return rec
	}
	bearer, proxyAuth := []string{"Authorization", "Bearer " + key}, []string{"Proxy-Authorization", "Bearer " + key}
	if rec := send("POST", "/ping", `{}`, bearer...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"path":"ping"`) {
		t.Fatalf("allowed: %d %s", rec.Code, rec.Body)
	}
	wantEnvelope(t, send("POST", "/ping", `{}`), 2, 401)
	rec := send("POST", "http://api.weixin.qq.com/ping", `{}`)
	wantEnvelope(t, rec, 2, 407)
	if rec.Header().Get("Proxy-Authenticate") != `Basic realm="wxbackend"` {
		t.Fatalf("407 without Proxy-Authenticate: %v", rec.Header())
	}
	wantEnvelope(t, send("POST", "/pong", `{}`, bearer...), 13, 403)
	wantEnvelope(t, send("POST", "http://evil.example/ping", `{}`, proxyAuth...), 13, 403)
	wantEnvelope(t, send("POST", "/p.ng", `{}`, bearer...), 1, 400)
	wantEnvelope(t, send("POST", "/ping", strings.Repeat("x", 65), bearer...), 11, 413)
	wantEnvelope(t, send("CONNECT", "api.weixin.qq.com:443", ``, proxyAuth...), 1, 405)
	if rec := send("POST", "http://api.weixin.qq.com/ping", `{}`, proxyAuth...); rec.Code != 200 {
		t.Fatalf("through the proxy: %d %s", rec.Code, rec.Body)
	}
	rec = send("POST", "/ping", `{}`, bearer...)
	wantEnvelope(t, rec, 7, 429)
	if rec.Header().Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}
