package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/system"
	"wxbackend/adapters/wechat"
	"wxbackend/app"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// BenchmarkOpenAPI measures what passing a WeChat API call on for another
// service costs over calling WeChat (the sandbox, over loopback HTTP)
// directly with the token in hand: direct is the service's own call;
// handler goes through the internal router in process (key check, path
// rules, limit, the forward); listener and proxy add the hop a service
// makes to the internal listener, in origin-form and through it as
// HTTP_PROXY. cpu-ns/op is the process's user+system CPU per call
// (client, wxbackend and sandbox alike, all in this process). The
// -parallel cases are the same calls from many callers at once.
func BenchmarkOpenAPI(b *testing.B) {
	const secret = "bench-app-secret"
	sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: secret})
	upstream := httptest.NewServer(sb.Handler())
	b.Cleanup(upstream.Close)
	wc, err := wechat.NewClient(wechat.Options{AppID: appID, Secret: secret, BaseURL: upstream.URL, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	mo := memory.Options{CleanupInterval: time.Minute}
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(mo, 0, 0, system.Clock{}), Users: portfake.NewUsers(),
		Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{wc}, Clock: system.Clock{}, Tokens: system.TokenSource{},
		AccessTokens:   memory.NewTokenCache(system.Clock{}),
		OpenAPILimiter: func(n int) ports.RateLimiter { return memory.NewRateLimiter(n, time.Minute, system.Clock{}) }},
		app.Options{SessionTTL: time.Hour, OpenAPIPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "keys.toml")
	if err := os.WriteFile(path, []byte(apikeys.Block(apikeys.Entry{Name: "bench", SHA256: digest, Scopes: []string{"openapi"}})), 0o600); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	keys, err := apikeys.Open(path, log)
	if err != nil {
		b.Fatal(err)
	}
	route, err := httpapi.NewOpenAPIRoute(svc, log, httpapi.OpenAPIOptions{MaxBody: 1 << 20, ProxyHosts: []string{"api.weixin.qq.com"}}, upstream.URL)
	if err != nil {
		b.Fatal(err)
	}
	h := httpapi.NewInternalRouter(svc, keys, log, nil, route)
	listener := httptest.NewServer(h)
	b.Cleanup(listener.Close)
	tok, _, err := wc.StableToken(context.Background(), false)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"path":"pages/index/index","query":"a=1"}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	proxyURL := &url.URL{Scheme: "http", Host: listener.Listener.Addr().String(), User: url.UserPassword("bench", key)}
	proxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), MaxIdleConnsPerHost: 64}}
	send := func(b *testing.B, c *http.Client, u string, bearer bool) {
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if bearer {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
	cases := []struct {
		name string
		call func(b *testing.B)
	}{
		{"direct", func(b *testing.B) {
			send(b, client, upstream.URL+"/wxa/generate_urllink?access_token="+url.QueryEscape(tok.Reveal()), false)
		}},
		{"handler", func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/wxa/generate_urllink", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
			}
		}},
		{"listener", func(b *testing.B) { send(b, client, listener.URL+"/wxa/generate_urllink", true) }},
		{"proxy", func(b *testing.B) { send(b, proxy, "http://api.weixin.qq.com/wxa/generate_urllink", false) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			c.call(b) // warm the connections
			before := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				c.call(b)
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
	// Many services at once: throughput over loopback with 16 callers a core.
	for _, c := range cases {
		if c.name == "handler" {
			continue
		}
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			before := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.call(b)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
