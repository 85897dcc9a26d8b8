package httpapi_test

import (
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// TestRateLimits: logins are limited per client address (behind trusted
// proxies, per X-Forwarded-For), data routes per session; over the limit is
// code 7 with a Retry-After, and writes nothing.
func TestRateLimits(t *testing.T) {
	clock := portfake.NewClock(time.Now())
	users, wx := portfake.NewUsers(), portfake.NewWeChat(appID)
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{CleanupInterval: time.Minute}, 0, 0, clock), Users: users, Decrypter: aescbc.NewDecrypter(),
		Apps: []ports.WeChat{wx}, Clock: clock, Tokens: &portfake.Tokens{}},
		app.Options{SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	h := newRouterWith(t, svc, slog.New(slog.NewTextHandler(&logs, nil)), httpapi.Options{
		MaxBodyBytes: 4096, ReadyTimeout: time.Second, TrustedProxies: []string{"10.0.0.1"}}, clock,
		httpapi.Limits{Login: memory.NewRateLimiter(2, time.Minute, clock), Session: memory.NewRateLimiter(3, time.Minute, clock)})
	send := func(method, path, body, peer, xff, token string) (int, string, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = peer
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get("Retry-After"), rec.Body.String()
	}
	login := func(code, peer, xff string) (int, string, string) {
		wx.AddCode(code, "o-"+code, "", key1)
		return send("POST", "/login/", `{"code":"`+code+`"}`, peer, xff, "")
	}

	for i := 0; i < 2; i++ {
		if status, _, body := login("a"+strconv.Itoa(i), "203.0.113.7:1000", ""); status != 200 {
			t.Fatalf("login %d: %d %s", i, status, body)
		}
	}
	writes := users.WriteCount()
	status, retry, body := login("a2", "203.0.113.7:2000", "")
	if status != 429 || !strings.Contains(body, `"code":7`) {
		t.Fatalf("third login of a client: %d %s", status, body)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 31 {
		t.Fatalf("Retry-After %q, want the seconds until a login is admitted", retry)
	}
	if users.WriteCount() != writes || wx.Calls("a2") != 0 {
		t.Fatal("a limited login reached WeChat or the database")
	}
	if status, _, _ := login("b0", "198.51.100.1:1000", ""); status != 200 {
		t.Fatal("another client was limited")
	}
	// Behind the trusted proxy, clients are told apart by X-Forwarded-For;
	// an untrusted peer's header is ignored.
	for i, c := range []string{"192.0.2.1", "192.0.2.2"} {
		if status, _, _ := login("p"+strconv.Itoa(i), "10.0.0.1:1000", c); status != 200 {
			t.Fatalf("client %s behind the proxy was limited", c)
		}
	}
	if status, _, _ := login("x0", "203.0.113.7:3000", "192.0.2.99"); status != 429 {
		t.Fatal("a forged X-Forwarded-For escaped the limit")
	}
	_, _, _ = login("x1", "203.0.113.8:3000", "192.0.2.98")
	if n := strings.Count(logs.String(), "X-Forwarded-For from a peer that is not a trusted proxy"); n != 1 {
		t.Fatalf("warned %d times about untrusted X-Forwarded-For, want once:\n%s", n, logs.String())
	}

	// IPv6 clients are one client per /64: rotating the low bits does not
	// escape the limit, another /64 is another client.
	for i, peer := range []string{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2:ffff::9]:1000"} {
		if status, _, _ := login("v"+strconv.Itoa(i), peer, ""); status != 200 {
			t.Fatalf("IPv6 login %d: %d", i, status)
		}
	}
	if status, _, _ := login("v2", "[2001:db8:1:2:abcd::5]:1000", ""); status != 429 {
		t.Fatal("an IPv6 client escaped the limit by changing its address within its /64")
	}
	if status, _, _ := login("v3", "[2001:db8:1:3::1]:1000", ""); status != 200 {
		t.Fatal("another /64 was limited")
	}

	// Per session: three requests a minute.
	_, _, body = login("c0", "198.51.100.2:1000", "")
	tok := body[strings.Index(body, `"token":"`)+9:]
	tok = tok[:strings.IndexByte(tok, '"')]
	for i := 0; i < 3; i++ {
		if status, _, body := send("GET", "/api/v1/me", "", "198.51.100.2:1000", "", tok); status != 200 {
			t.Fatalf("request %d of a session: %d %s", i, status, body)
		}
	}
	if status, retry, body := send("GET", "/api/v1/me", "", "198.51.100.2:1000", "", tok); status != 429 || retry == "" || !strings.Contains(body, `"code":7`) {
		t.Fatalf("fourth request of a session: %d %q %s", status, retry, body)
	}
}

// TestRateLimits_NamingTheOneAppGivesNoSecondBucket: with one app served, a
// login that names it (X-WX-AppID) and one that names none are the same
// app's, and share the client's login limit (issue 23, item 10).
func TestRateLimits_NamingTheOneAppGivesNoSecondBucket(t *testing.T) {
	clock := portfake.NewClock(time.Now())
	wx := portfake.NewWeChat(appID)
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{CleanupInterval: time.Minute}, 0, 0, clock),
		Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{wx}, Clock: clock, Tokens: &portfake.Tokens{}},
		app.Options{SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := newRouterWith(t, svc, slog.New(slog.DiscardHandler), httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second}, clock,
		httpapi.Limits{Login: memory.NewRateLimiter(2, time.Minute, clock)})
	login := func(code string, header ...string) int {
		wx.AddCode(code, "o-"+code, "", key1)
		req := httptest.NewRequest("POST", "/login/", strings.NewReader(`{"code":"`+code+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "203.0.113.7:1000"
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < 2; i++ {
		if status := login("a" + strconv.Itoa(i)); status != 200 {
			t.Fatalf("login %d: %d", i, status)
		}
	}
	if status := login("named", httpapi.AppIDHeader, appID); status != 429 {
		t.Fatalf("naming the one app served gave another bucket: %d, want 429", status)
	}
	if status := login("referer", "Referer", "https://servicewechat.com/"+appID+"/1/page-frame.html"); status != 429 {
		t.Fatalf("naming the one app served by Referer gave another bucket: %d, want 429", status)
	}
	if status := login("other", httpapi.AppIDHeader, "wxnotserved"); status != 400 {
		t.Fatalf("an app not served: %d, want 400", status)
	}
}
