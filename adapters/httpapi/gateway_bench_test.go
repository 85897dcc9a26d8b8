package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/httpapi"
)

// BenchmarkGateway is a GET of a small JSON answer over loopback HTTP,
// from an upstream (httptest) called directly and through the gateway (a
// router of its own in front, memory sessions, the access log on to
// io.Discard): the difference is what the gateway adds per request, the
// second hop included.
func BenchmarkGateway(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"orders":[1,2,3],"openid":"`+r.Header.Get("X-Wx-Openid")+`"}`)
	}))
	b.Cleanup(up.Close)
	f := newFixture(b, nil)
	f.wechat.AddCode("bench-code", "o-bench", "u-bench", key1)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{"code":"bench-code"}`)))
	var login struct{ Data struct{ Token string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || login.Data.Token == "" {
		b.Fatalf("login: %s", rec.Body)
	}
	h, err := httpapi.NewRouter(f.app, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Options{MaxBodyBytes: 4096,
		ReadyTimeout: time.Second, Upstreams: []httpapi.Upstream{{Name: "bench", Prefix: "/app/", URL: up.URL, StripPrefix: true}}},
		f.clock, httpapi.Limits{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	gw := httptest.NewServer(h)
	b.Cleanup(gw.Close)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, bc := range []struct{ name, url string }{{"direct", up.URL + "/orders"}, {"gateway", gw.URL + "/app/orders"}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("GET", bc.url, nil)
				req.Header.Set("Authorization", "Bearer "+login.Data.Token)
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("HTTP %d", res.StatusCode)
				}
			}
		})
	}
}
