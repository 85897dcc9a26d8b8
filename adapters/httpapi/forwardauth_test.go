package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/httpapi/openapitest"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// countingSessions is the memory session store, counting the calls that
// reach it, and failing them as a store that is down would when down is set.
type countingSessions struct {
	*memory.SessionStore
	calls atomic.Int64
	down  atomic.Bool
}

func (s *countingSessions) Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return domain.Session{}, domain.Wrap(domain.KindUnavailable, errors.New("session store down"))
	}
	return s.SessionStore.Get(ctx, id)
}

// countingUsers counts the calls that reach the user repo.
type countingUsers struct {
	ports.UserRepo
	calls atomic.Int64
}

func (u *countingUsers) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	u.calls.Add(1)
	return u.UserRepo.Get(ctx, id)
}

func (u *countingUsers) EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	u.calls.Add(1)
	return u.UserRepo.EnsureUser(ctx, id, unionID, now)
}

// faFixture is the router with a counting session store and user repo, a
// per-session limit of limit requests a minute, and the proxy on 10.0.0.1
// trusted.
type faFixture struct {
	h        http.Handler
	sessions *countingSessions
	users    *countingUsers
	wechat   *portfake.WeChat
}

func newFAFixture(t testing.TB, limit int) *faFixture {
	t.Helper()
	clock := portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	f := &faFixture{
		sessions: &countingSessions{SessionStore: memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, clock)},
		users:    &countingUsers{UserRepo: portfake.NewUsers()},
		wechat:   portfake.NewWeChat(appID),
	}
	svc, err := app.New(app.Deps{Sessions: f.sessions, Users: f.users, Decrypter: aescbc.NewDecrypter(),
		Apps: []ports.WeChat{f.wechat}, Clock: clock, Tokens: &portfake.Tokens{}}, app.Options{SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var limits httpapi.Limits
	if limit > 0 {
		limits.Session = memory.NewRateLimiter(limit, time.Minute, clock)
	}
	f.h = newRouterWith(t, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Options{MaxBodyBytes: 4096,
		ReadyTimeout: time.Second, TrustedProxies: []string{"10.0.0.1"}}, clock, limits)
	return f
}

// login logs openID in (with unionID, may be "") and returns the token.
func (f *faFixture) login(t testing.TB, code, openID, unionID string) string {
	t.Helper()
	f.wechat.AddCode(code, openID, unionID, key1)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{"code":"`+code+`"}`)))
	var login struct{ Data struct{ Token string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || login.Data.Token == "" {
		t.Fatalf("login: %s", rec.Body)
	}
	return login.Data.Token
}

// unreadBody fails the test if the handler reads it.
type unreadBody struct{ t *testing.T }

func (b unreadBody) Read([]byte) (int, error) {
	b.t.Error("forward auth read the request body")
	return 0, io.EOF
}

// ask sends a proxy's forward-auth request from the proxy at 10.0.0.1 for
// the client 203.0.113.9, with header's pairs, and checks the answer
// against the OpenAPI document.
func (f *faFixture) ask(t *testing.T, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, unreadBody{t})
	req.RemoteAddr = "10.0.0.1:4000"
	req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.9")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if err := openapitest.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
	return rec
}

func TestForwardAuth_ValidTokenIsTheIdentityInOneSessionRead(t *testing.T) {
	f := newFAFixture(t, 0)
	token := f.login(t, "c1", "o-1", "")
	for _, path := range []string{"/auth/forward", "/auth/forward/orders"} {
		for _, method := range []string{"GET", "POST", "DELETE", "HEAD"} {
			sessions, users := f.sessions.calls.Load(), f.users.calls.Load()
			rec := f.ask(t, method, path, "Authorization", "Bearer "+token, "X-WX-OPENID", "o-forged", "X-Wx-Unionid", "u-forged")
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
				t.Fatalf("%s %s: HTTP %d %q", method, path, rec.Code, rec.Body)
			}
			want := http.Header{"X-Wx-Openid": {"o-1"}, "X-Wx-Appid": {appID}, "X-Wx-Source": {httpapi.SourceForwardAuth},
				"X-Original-Forwarded-For": {"203.0.113.9"}}
			for k, v := range want {
				if got := rec.Header().Values(k); len(got) != 1 || got[0] != v[0] {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := rec.Header().Values(httpapi.HeaderUnionID); len(got) != 0 {
				t.Errorf("a session without a unionid answered %s %q", httpapi.HeaderUnionID, got)
			}
			if n := f.sessions.calls.Load() - sessions; n != 1 {
				t.Errorf("%d session-store calls, want 1", n)
			}
			if n := f.users.calls.Load() - users; n != 0 {
				t.Errorf("%d user-repo calls, want none", n)
			}
		}
	}
}

func TestForwardAuth_UnionIDWhenTheSessionHasOne(t *testing.T) {
	f := newFAFixture(t, 0)
	token := f.login(t, "c1", "o-1", "u-1")
	rec := f.ask(t, "GET", "/auth/forward", "Authorization", "Bearer "+token)
	if rec.Code != http.StatusOK || rec.Header().Get(httpapi.HeaderUnionID) != "u-1" {
		t.Fatalf("HTTP %d, unionid %q", rec.Code, rec.Header().Get(httpapi.HeaderUnionID))
	}
}

func TestForwardAuth_NoClientAddressIsNoHeader(t *testing.T) {
	f := newFAFixture(t, 0)
	token := f.login(t, "c1", "o-1", "")
	req := httptest.NewRequest("GET", "/auth/forward", nil)
	req.RemoteAddr = "@" // a unix socket's peer, say
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(rec.Header().Values(httpapi.HeaderClientFor)) != 0 {
		t.Fatalf("HTTP %d, %s %q", rec.Code, httpapi.HeaderClientFor, rec.Header().Values(httpapi.HeaderClientFor))
	}
}

func TestForwardAuth_NoValidTokenIs401(t *testing.T) {
	f := newFAFixture(t, 0)
	token := f.login(t, "c1", "o-1", "")
	for name, header := range map[string][]string{
		"no token":             nil,
		"a bad token":          {"Authorization", "Bearer dGhpcyBpcyBub3QgYSB0b2tlbg.AAAAAAAAAAAAAAAAAAAAAA"},
		"another scheme":       {"Authorization", "Basic " + token},
		"two tokens":           {"Authorization", "Bearer " + token, "Authorization", "Bearer " + token},
		"an app not served":    {"Authorization", "Bearer " + token, "X-WX-AppID", "wxnotours"},
		"a Referer of a shape": {"Authorization", "Bearer " + token, "Referer", "https://servicewechat.com/" + appID + "/x/y"},
	} {
		rec := f.ask(t, "GET", "/auth/forward/x", header...)
		var e apiclient.Raw
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusUnauthorized || e.Code != 2 || rec.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s: HTTP %d %s, WWW-Authenticate %q", name, rec.Code, rec.Body, rec.Header().Get("WWW-Authenticate"))
		}
		if rec.Header().Get(httpapi.HeaderOpenID) != "" {
			t.Errorf("%s: an identity with a 401", name)
		}
	}
}

func TestForwardAuth_OverTheSessionLimitIs429(t *testing.T) {
	f := newFAFixture(t, 1)
	token := f.login(t, "c1", "o-1", "")
	if rec := f.ask(t, "GET", "/auth/forward", "Authorization", "Bearer "+token); rec.Code != http.StatusOK {
		t.Fatalf("first: HTTP %d", rec.Code)
	}
	rec := f.ask(t, "GET", "/auth/forward", "Authorization", "Bearer "+token)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || rec.Header().Get(httpapi.HeaderOpenID) != "" {
		t.Fatalf("HTTP %d, Retry-After %q, openid %q", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get(httpapi.HeaderOpenID))
	}
}

func TestForwardAuth_StoreDownIs503(t *testing.T) {
	f := newFAFixture(t, 0)
	token := f.login(t, "c1", "o-1", "")
	f.sessions.down.Store(true)
	rec := f.ask(t, "GET", "/auth/forward", "Authorization", "Bearer "+token)
	var e apiclient.Raw
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != http.StatusServiceUnavailable || e.Code != 9 || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("HTTP %d %s, WWW-Authenticate %q", rec.Code, rec.Body, rec.Header().Get("WWW-Authenticate"))
	}
}

// BenchmarkForwardAuth is a proxy's forward-auth request through the router
// in process: the bearer token read, the session from the memory store, the
// identity headers written. The access log is on, at info level, to
// io.Discard.
func BenchmarkForwardAuth(b *testing.B) {
	f := newFAFixture(b, 0)
	token := f.login(b, "bench-code", "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/auth/forward", nil)
			req.RemoteAddr = "10.0.0.1:4000"
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			w := &discardWriter{h: http.Header{}}
			f.h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("HTTP %d", w.status)
			}
		}
	})
}
