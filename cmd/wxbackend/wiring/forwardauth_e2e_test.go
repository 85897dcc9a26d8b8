package wiring_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

// The apps of the forward-auth tests: the shop's users have a unionid
// (WeChat gives one to apps bound to an Open Platform account), the staff
// app's have none, and the limited app allows one request per session and
// minute.
const (
	faUnionApp   = "wxfa00000000000001"
	faPlainApp   = "wxfa00000000000002"
	faLimitedApp = "wxfa00000000000003"
)

// faEnv is a wxbackend (trusting the proxies on loopback), its sandbox, and
// the service behind the proxies, which records what it receives.
type faEnv struct {
	wxbackend string // host:port
	upstream  *recorder
	sb        *sandbox.Multi
	base      string
}

// recorder is the service behind a proxy: it keeps the headers of every
// request it gets.
type recorder struct {
	mu     sync.Mutex
	seen   []http.Header
	bodies []string
	srv    *httptest.Server
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Clone())
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	_, _ = io.WriteString(w, "from the service")
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// last returns the headers of the last request, and checks that its body
// came through whole (the auth call took none of it).
func (r *recorder) last(t *testing.T) http.Header {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if body := r.bodies[len(r.bodies)-1]; body != testBody {
		t.Errorf("the service got the body %q, want %q", body, testBody)
	}
	return r.seen[len(r.seen)-1]
}

// testBody is what the tests send through the proxies.
const testBody = `{"item":1}`

func startFAEnv(t *testing.T) *faEnv {
	t.Helper()
	dir := t.TempDir()
	appsFile := filepath.Join(dir, "apps.toml")
	writeFile(t, appsFile, `
[[app]]
appid = "`+faUnionApp+`"
secret = "union-secret"

[[app]]
appid = "`+faPlainApp+`"
secret = "plain-secret"

[[app]]
appid = "`+faLimitedApp+`"
secret = "limited-secret"
session_per_minute = 1
`)
	cfg, err := config.Load([]string{"--apps-file", appsFile}, func(string) (string, bool) { return "", false }, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = sqliteDB(t)
	cfg.HTTP.TrustedProxies = []string{"127.0.0.1"}
	multi := sandbox.NewMulti([]sandbox.Options{
		{AppID: faUnionApp, AppSecret: "union-secret", UnionIDs: true},
		{AppID: faPlainApp, AppSecret: "plain-secret"},
		{AppID: faLimitedApp, AppSecret: "limited-secret"},
	})
	sbSrv := httptest.NewServer(multi.Handler())
	t.Cleanup(sbSrv.Close)
	cfg.WeChat.BaseURL = sbSrv.URL
	s := launch(t, cfg)
	up := &recorder{}
	up.srv = httptest.NewServer(up)
	t.Cleanup(up.srv.Close)
	return &faEnv{wxbackend: strings.TrimPrefix(s.base, "http://"), upstream: up, sb: multi, base: s.base}
}

// login logs user in to app (named by X-WX-AppID) and returns the token and
// the sandbox's user.
func (e *faEnv) login(t *testing.T, app, user string) (string, sandbox.User) {
	t.Helper()
	ctx := context.Background()
	sb := e.sb.App(app)
	code, err := sb.Login(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := apiclient.New(e.base, nil).Do(ctx, apiclient.Request{Path: "/api/v1/login",
		Fields: []apiclient.Field{{Name: "code", Value: code}}, Header: http.Header{"X-WX-AppID": {app}}})
	var login apiclient.Login
	if err != nil || resp.Decode(&login) != nil || login.Token == "" {
		t.Fatalf("login of %s to %s: %+v %v", user, app, resp.Envelope, err)
	}
	u, err := sb.User(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return login.Token, u
}

// forged are the identity headers a client sends to pass for someone else,
// in the spellings a proxy or a framework may take for the real ones.
var forged = map[string]string{
	"X-WX-OPENID":              "o-forged",
	"x_wx_openid":              "o-forged-underscore",
	"X-Wx-Unionid":             "u-forged",
	"x_wx_unionid":             "u-forged-underscore",
	"X-WX-SOURCE":              "forged",
	"X-WX-FROM-OPENID":         "o-forged-from",
	"X-WX-ENV":                 "forged-env",
	"X-Original-Forwarded-For": "198.51.100.66",
	"x_original_forwarded_for": "198.51.100.67",
	"X-Forwarded-For":          "198.51.100.68",
}

// identityOf returns the identity headers an upstream received, by their
// names as Go reads them, and fails on any other spelling or a header given
// twice.
func identityOf(t *testing.T, h http.Header) map[string]string {
	t.Helper()
	got := map[string]string{}
	for name, values := range h {
		n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if !strings.HasPrefix(n, "x-wx-") && n != "x-original-forwarded-for" {
			continue
		}
		if len(values) != 1 {
			t.Errorf("the service got %s %d times: %q", name, len(values), values)
		}
		got[name] = strings.Join(values, ",")
	}
	return got
}

// TestForwardAuth_BehindNginxAndCaddy runs the README's nginx and Caddy
// configurations in front of a service: the service gets wxbackend's
// identity headers for a valid token, never a client's own (any spelling,
// a unionid the user has none of), and no request without a valid token.
func TestForwardAuth_BehindNginxAndCaddy(t *testing.T) {
	env := startFAEnv(t)
	upstream := strings.TrimPrefix(env.upstream.srv.URL, "http://")
	for _, p := range []struct {
		name  string
		start func(t *testing.T, wxbackend, upstream string) string
	}{{"nginx", startNginx}, {"caddy", startCaddy}} {
		t.Run(p.name, func(t *testing.T) {
			proxy := p.start(t, env.wxbackend, upstream)
			send := func(t *testing.T, token string, header map[string]string) (*http.Response, apiclient.Raw) {
				t.Helper()
				req, _ := http.NewRequest("POST", proxy+"/orders/1?x=1", strings.NewReader(testBody))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				for k, v := range header {
					req.Header[k] = []string{v} // as written: x_wx_openid stays x_wx_openid
				}
				// Not checked against the OpenAPI document: the path is the
				// service's, behind the proxy.
				resp, err := (&http.Client{Transport: contract.Base}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				var e apiclient.Raw
				if resp.StatusCode != http.StatusOK {
					if err := json.Unmarshal(body, &e); err != nil {
						t.Fatalf("HTTP %d: not the envelope: %q", resp.StatusCode, body)
					}
				} else if string(body) != "from the service" {
					t.Fatalf("HTTP 200 of %q", body)
				}
				return resp, e
			}
			with := func(extra map[string]string) map[string]string {
				m := map[string]string{}
				for k, v := range forged {
					m[k] = v
				}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}

			t.Run("a user with a unionid, app by Referer", func(t *testing.T) {
				token, u := env.login(t, faUnionApp, "ada-"+p.name)
				if u.UnionID == "" {
					t.Fatal("the sandbox gave ada no unionid")
				}
				resp, e := send(t, token, with(map[string]string{"Referer": "https://servicewechat.com/" + faUnionApp + "/3/page-frame.html"}))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("HTTP %d %+v", resp.StatusCode, e)
				}
				want := map[string]string{"X-Wx-Openid": u.OpenID, "X-Wx-Appid": faUnionApp, "X-Wx-Unionid": u.UnionID,
					"X-Wx-Source": httpapi.SourceForwardAuth, "X-Original-Forwarded-For": "127.0.0.1"}
				assertHeaders(t, identityOf(t, env.upstream.last(t)), want)
			})
			t.Run("a user without a unionid, app by X-WX-AppID", func(t *testing.T) {
				token, u := env.login(t, faPlainApp, "bob-"+p.name)
				resp, e := send(t, token, with(map[string]string{"X-WX-AppID": faPlainApp}))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("HTTP %d %+v", resp.StatusCode, e)
				}
				want := map[string]string{"X-Wx-Openid": u.OpenID, "X-Wx-Appid": faPlainApp,
					"X-Wx-Source": httpapi.SourceForwardAuth, "X-Original-Forwarded-For": "127.0.0.1"}
				assertHeaders(t, identityOf(t, env.upstream.last(t)), want)
			})
			for name, token := range map[string]string{"no token": "", "a bad token": "dGhpcyBpcyBub3QgYSB0b2tlbg.AAAAAAAAAAAAAAAAAAAAAA"} {
				t.Run(name, func(t *testing.T) {
					before := env.upstream.count()
					resp, e := send(t, token, with(map[string]string{"X-WX-AppID": faPlainApp}))
					if auth := resp.Header.Values("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || e.Code != 2 || len(auth) != 1 || auth[0] != "Bearer" {
						t.Errorf("HTTP %d %+v, WWW-Authenticate %q; want 401, code 2, Bearer", resp.StatusCode, e, resp.Header.Values("WWW-Authenticate"))
					}
					if env.upstream.count() != before {
						t.Error("the service got a request without a valid token")
					}
				})
			}
			t.Run("over the session limit", func(t *testing.T) {
				token, _ := env.login(t, faLimitedApp, "carol-"+p.name)
				h := map[string]string{"X-WX-AppID": faLimitedApp}
				if resp, e := send(t, token, h); resp.StatusCode != http.StatusOK {
					t.Fatalf("first request: HTTP %d %+v", resp.StatusCode, e)
				}
				before := env.upstream.count()
				resp, e := send(t, token, h)
				if resp.StatusCode != http.StatusTooManyRequests || e.Code != 7 || resp.Header.Get("Retry-After") == "" {
					t.Errorf("HTTP %d %+v, Retry-After %q; want 429, code 7 and a Retry-After", resp.StatusCode, e, resp.Header.Get("Retry-After"))
				}
				if env.upstream.count() != before {
					t.Error("the service got a request over the limit")
				}
			})
		})
	}
}

// TestForwardAuth_WXBackendDownLetsNothingThrough: a proxy whose wxbackend
// does not answer sends nothing to the service; nginx answers 502 code 8
// (its @wxbackend_denied location), Caddy its own 502.
func TestForwardAuth_WXBackendDownLetsNothingThrough(t *testing.T) {
	up := &recorder{}
	up.srv = httptest.NewServer(up)
	t.Cleanup(up.srv.Close)
	down := wiringtest.FreeAddr(t) // no one listens there
	for _, p := range []struct {
		name  string
		start func(t *testing.T, wxbackend, upstream string) string
	}{{"nginx", startNginx}, {"caddy", startCaddy}} {
		t.Run(p.name, func(t *testing.T) {
			proxy := p.start(t, down, strings.TrimPrefix(up.srv.URL, "http://"))
			req, _ := http.NewRequest("GET", proxy+"/orders/1", nil)
			req.Header.Set("Authorization", "Bearer dGhpcyBpcyBub3QgYSB0b2tlbg.AAAAAAAAAAAAAAAAAAAAAA")
			resp, err := (&http.Client{Transport: contract.Base}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("HTTP %d %q, want 502", resp.StatusCode, body)
			}
			if p.name == "nginx" {
				var e apiclient.Raw
				if err := json.Unmarshal(body, &e); err != nil || e.Code != 8 {
					t.Errorf("not the envelope of code 8: %q", body)
				}
			}
			if up.count() != 0 {
				t.Error("the service got a request wxbackend never allowed")
			}
		})
	}
}

func assertHeaders(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("the service got %s = %q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("the service got %s = %q, which it must not", k, v)
		}
	}
}
