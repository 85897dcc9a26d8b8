package wiring_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/system"
	"wxbackend/adapters/testenv"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

const (
	appID     = "wx4f4bc4dec97d474b"
	appSecret = "e2e-app-secret-that-must-not-leak"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a running wxbackend.
type server struct {
	base string
	logs *syncBuffer
	sb   *sandbox.Sandbox // the WeChat it logs in against
	cfg  config.Config
	app  *fx.App
}

// startServer starts a server with a WeChat sandbox of its own, as make run
// does (here the sandbox runs in the test's process; the server's graph
// holds none). set adjusts the configuration.
func startServer(t *testing.T, set func(*config.Config)) *server {
	t.Helper()
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret = appID, appSecret
	set(&cfg)
	sb := wiringtest.StartSandbox(t, &cfg)
	s := launch(t, cfg)
	s.sb = sb.Sandbox
	return s
}

// sharedSandbox is one WeChat for several servers, as behind a load balancer.
type sharedSandbox struct {
	sb  *sandbox.Sandbox
	url string
}

func newSharedSandbox(t *testing.T) *sharedSandbox {
	sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: appSecret})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return &sharedSandbox{sb: sb, url: srv.URL}
}

// startServerOn starts a server that logs in against a shared sandbox.
func startServerOn(t *testing.T, shared *sharedSandbox, set func(*config.Config)) *server {
	t.Helper()
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret, cfg.WeChat.BaseURL = appID, appSecret, shared.url
	set(&cfg)
	s := launch(t, cfg)
	s.sb = shared.sb
	return s
}

func launch(t *testing.T, cfg config.Config, extra ...fx.Option) *server {
	t.Helper()
	wiringtest.ServeOn(t, &cfg, wiringtest.FreeAddr(t))
	logs := &syncBuffer{}
	var srv *httpapi.Server
	a := fx.New(wiring.Options(cfg, logs), fx.Populate(&srv), fx.Options(extra...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = a.Stop(ctx) // a test may have stopped it already
	})
	return &server{base: "http://" + srv.Addr(), logs: logs, cfg: cfg, app: a}
}

// login is wx.login for user on the server's sandbox, then the v1 login.
func (s *server) login(t *testing.T, user string) string {
	t.Helper()
	code, err := s.sb.Login(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := s.post(t, "/api/v1/login", map[string]string{"code": code})
	var login struct{ Token string }
	if err := json.Unmarshal(e.Data, &login); err != nil || e.Code != 0 || login.Token == "" {
		t.Fatalf("login of %s: %+v", user, e)
	}
	return login.Token
}

// userInfo is wx.getUserInfo for user, after setting the user's nickname.
func (s *server) userInfo(t *testing.T, user, nick string) sandbox.UserInfo {
	t.Helper()
	ctx := context.Background()
	u, err := s.sb.User(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	u.Profile.NickName = nick
	if err := s.sb.SetProfile(ctx, user, u.Profile); err != nil {
		t.Fatal(err)
	}
	info, err := s.sb.GetUserInfo(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func (s *server) openID(t *testing.T, user string) string {
	u, err := s.sb.User(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return u.OpenID
}

type envelope = apiclient.Raw

// post sends body as JSON (a map) or as a raw form string, as a mini-program would.
func (s *server) post(t *testing.T, path string, body any, header ...string) (envelope, string) {
	t.Helper()
	req := apiclient.Request{Path: path, Header: http.Header{}}
	switch b := body.(type) {
	case map[string]string:
		req.RawBody, _ = json.Marshal(b)
	case string:
		req.RawBody, req.Form = []byte(b), true
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := apiclient.New(s.base, nil).Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Envelope, string(resp.Body)
}

func (s *server) send(t *testing.T, req *http.Request) (envelope, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	var e envelope
	if err := json.Unmarshal(raw.Bytes(), &e); err != nil {
		t.Fatalf("%s: not an envelope: %q", req.URL.Path, raw.String())
	}
	return e, raw.String()
}

func sqliteDB(t *testing.T) sqlstore.Options {
	db := config.Default().DB
	db.DSN = sqlstore.DSN("file:" + filepath.Join(t.TempDir(), "e2e.db"))
	return db
}

// storedNick reads a user's nickname straight from the database.
func storedNick(t *testing.T, driver, dsn, openID string) string {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := "SELECT nick_name FROM wx_users WHERE app_id = ? AND open_id = ?"
	if driver == "postgres" {
		q = "SELECT nick_name FROM wx_users WHERE app_id = $1 AND open_id = $2"
	}
	var nick string
	if err := db.QueryRow(q, appID, openID).Scan(&nick); err != nil {
		t.Fatal(err)
	}
	return nick
}

// runFlow logs in and uploads the profile through the classic or v1 routes, with
// a JSON or a form body, and checks the row in the database.
func runFlow(t *testing.T, s *server, classic, form bool, driver, dsn string) {
	t.Helper()
	user := fmt.Sprintf("e2e-%v-%v-%d", classic, form, time.Now().UnixNano())
	code, err := s.sb.Login(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	loginPath, infoPath := "/api/v1/login", "/api/v1/userinfo"
	if classic {
		loginPath, infoPath = "/login/", "/getinfo/"
	}
	var e envelope
	if form {
		e, _ = s.post(t, loginPath, "code="+url.QueryEscape(code))
	} else {
		e, _ = s.post(t, loginPath, map[string]string{"code": code})
	}
	if e.Code != 0 || e.Status != 0 {
		t.Fatalf("login: %+v", e)
	}
	var login struct{ Token string }
	_ = json.Unmarshal(e.Data, &login)

	nick := "Band 🎸👩‍👩‍👧 微信"
	info := s.userInfo(t, user, nick)
	data, iv := info.EncryptedData, info.IV
	field := "encryptedData"
	if classic {
		field = "encrypedData" // the tutorial client's spelling
	}
	if form {
		// Sent as some clients do: without URL-encoding, so '+' arrives as ' '.
		e, _ = s.post(t, infoPath, field+"="+data+"&iv="+iv+"&token="+login.Token)
	} else {
		e, _ = s.post(t, infoPath, map[string]string{field: data, "iv": iv, "token": login.Token})
	}
	if e.Code != 0 || e.Status != 0 || e.Msg != "ok" {
		t.Fatalf("userinfo: %+v", e)
	}
	var p map[string]any
	_ = json.Unmarshal(e.Data, &p)
	wantKey := "nickName"
	if classic {
		wantKey = "name"
	}
	if p[wantKey] != nick {
		t.Fatalf("answered %v, want %s %q", p, wantKey, nick)
	}
	if got := storedNick(t, driver, dsn, s.openID(t, user)); got != nick {
		t.Fatalf("database holds %q, want %q", got, nick)
	}
}

// databases are the user stores the end-to-end tests run on.
var databases = []struct {
	name string
	db   func(t *testing.T) sqlstore.Options
}{
	{"sqlite", sqliteDB},
	{"mysql", func(t *testing.T) sqlstore.Options { return serverDB("mysql", sqltest.MySQL(t)) }},
	{"postgres", func(t *testing.T) sqlstore.Options { return serverDB("postgres", sqltest.Postgres(t)) }},
}

func serverDB(driver, dsn string) sqlstore.Options {
	db := config.Default().DB
	db.Driver, db.DSN = driver, sqlstore.DSN(dsn)
	return db
}

func TestE2E_EveryDatabaseWithMemorySessions(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			db := d.db(t)
			s := startServer(t, func(c *config.Config) { c.DB = db })
			for _, classic := range []bool{true, false} {
				for _, form := range []bool{false, true} {
					t.Run(fmt.Sprintf("classic=%v/form=%v", classic, form), func(t *testing.T) {
						runFlow(t, s, classic, form, db.Driver, db.DSN.Reveal())
					})
				}
			}
		})
	}
}

func TestE2E_NoSecretInLogsOrResponses(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.DB, c.Log.Level, c.WeChat.Timeout, c.Limits.SessionPerMinute = sqliteDB(t), "debug", 300*time.Millisecond, 8
	})
	var seen strings.Builder
	// WeChat failing first: its errors are logged, and its URL holds the secret.
	for _, f := range []sandbox.Fault{{Reset: true, Times: 2}, {Hang: true}, {Status: 500, Body: "oops"}, {Errcode: 40226}} {
		c, err := s.sb.Login(context.Background(), "secretive")
		if err != nil {
			t.Fatal(err)
		}
		s.sb.InjectFault(f)
		e, raw := s.post(t, "/api/v1/login", map[string]string{"code": c})
		if e.Code == 0 {
			t.Fatalf("login through fault %+v succeeded", f)
		}
		seen.WriteString(raw)
		s.sb.ClearFaults() // a reset on a fresh connection is not retried: one may be left
	}
	code, err := s.sb.Login(context.Background(), "secretive")
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := s.sb.SessionKey("secretive")
	key := sk.Base64()
	e, raw := s.post(t, "/api/v1/login", map[string]string{"code": code})
	if e.Code != 0 {
		t.Fatalf("login: %s", raw)
	}
	if strings.Contains(raw, key) { // the token is in this answer, by design; the key must not be
		t.Error("the login answer shows the session_key")
	}
	var login struct{ Token string }
	_ = json.Unmarshal(e.Data, &login)
	info := s.userInfo(t, "secretive", "n")
	data, iv := info.EncryptedData, info.IV
	// wx.login again without telling the backend: what WeChat seals now is
	// under a key the server never saw (code 4).
	if _, err := s.sb.Login(context.Background(), "secretive"); err != nil {
		t.Fatal(err)
	}
	stale, err := s.sb.GetUserInfo(context.Background(), "secretive")
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct {
		path string
		body map[string]string
	}{
		{"/api/v1/userinfo", map[string]string{"encryptedData": data, "iv": iv}},
		{"/api/v1/userinfo", map[string]string{"encryptedData": data, "iv": iv, "rawData": info.RawData, "signature": info.Signature}},
		{"/api/v1/userinfo", map[string]string{"encryptedData": data, "iv": iv, "rawData": info.RawData + " ", "signature": info.Signature}},
		{"/api/v1/userinfo", map[string]string{"encryptedData": stale.EncryptedData, "iv": stale.IV}},
		{"/api/v1/userinfo", map[string]string{"encryptedData": data, "iv": "bad"}},
		{"/api/v1/login", map[string]string{"code": "unknown-code"}},
		{"/api/v1/me", nil},
		{"/api/v1/me", nil},
		{"/api/v1/me", nil}, // over the session's rate limit by now
		{"/api/v1/logout", map[string]string{}},
		{"/api/v1/logout", map[string]string{}}, // already out
	} {
		var raw string
		if req.body == nil {
			r, _ := http.NewRequest("GET", s.base+req.path, nil)
			r.Header.Set("Authorization", "Bearer "+login.Token)
			_, raw = s.send(t, r)
		} else {
			_, raw = s.post(t, req.path, req.body, "Authorization", "Bearer "+login.Token)
		}
		seen.WriteString(raw)
	}
	seen.WriteString(s.logs.String())
	for _, want := range []string{`"code":0`, `"code":4`, `"code":6`, `"code":7`, `"code":8`, "request failed"} {
		if !strings.Contains(seen.String(), want) {
			t.Fatalf("the run never produced %q: it did not cover what it should", want)
		}
	}
	if !strings.Contains(s.logs.String(), "level=DEBUG") {
		t.Fatal("the test ran without debug logs")
	}
	for name, secret := range map[string]string{"session_key": key, "app secret": appSecret, "token": login.Token} {
		if strings.Contains(seen.String(), secret) {
			t.Errorf("the %s appears in a response or log line", name)
		}
	}
	if strings.Contains(s.cfg.String(), appSecret) {
		t.Error("the config dump shows the app secret")
	}
}

func TestE2E_ShutdownFinishesInFlightRequests(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.DB = sqliteDB(t) })
	code, err := s.sb.Login(context.Background(), "slow")
	if err != nil {
		t.Fatal(err)
	}
	hold, held := make(chan struct{}), make(chan struct{})
	s.sb.InjectFault(sandbox.Fault{Wait: hold, Arrived: held})
	done := make(chan envelope, 1)
	go func() {
		e, _ := s.post(t, "/login/", map[string]string{"code": code})
		done <- e
	}()
	<-held // the login is in flight, waiting on WeChat
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- s.app.Stop(ctx)
	}()
	// New connections are refused once shutdown begins.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(s.base + "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts requests while shutting down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(hold)
	if e := <-done; e.Code != 0 {
		t.Fatalf("the in-flight login: %+v", e)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// redisSessions returns the session config for the test Redis, with a key
// prefix of the test's own.
func redisSessions(t *testing.T) (config.Sessions, redisstore.Options) {
	t.Helper()
	addr := testenv.Get("WXB_TEST_REDIS_ADDR", "127.0.0.1:6379")
	s, r := config.Default().Sessions, config.Default().Redis
	s.Store = "redis"
	r.Addrs = []string{addr}
	r.KeyPrefix = fmt.Sprintf("wxbtest:e2e:%d:", time.Now().UnixNano())
	st, err := redisstore.NewSessionStore(r, 0, 0, system.Clock{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(context.Background()); err != nil {
		testenv.Unreachable(t, "Redis", err)
	}
	return s, r
}

func TestE2E_EveryDatabaseWithRedisSessions(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			db := d.db(t)
			sess, rc := redisSessions(t)
			s := startServer(t, func(c *config.Config) { c.DB, c.Sessions, c.Redis = db, sess, rc })
			for _, classic := range []bool{true, false} {
				for _, form := range []bool{false, true} {
					t.Run(fmt.Sprintf("classic=%v/form=%v", classic, form), func(t *testing.T) {
						runFlow(t, s, classic, form, db.Driver, db.DSN.Reveal())
					})
				}
			}
		})
	}
}

// TestE2E_ServersShareSessionsThroughRedis runs two servers on one Redis and
// one database, as behind a load balancer: a session made on one works on the
// other, a logout on one ends it on both, and sessions outlive a restart.
func TestE2E_ServersShareSessionsThroughRedis(t *testing.T) {
	db := serverDB("postgres", sqltest.Postgres(t))
	sess, rc := redisSessions(t)
	wx := newSharedSandbox(t)
	set := func(c *config.Config) { c.DB, c.Sessions, c.Redis = db, sess, rc }
	a := startServerOn(t, wx, set)
	b := startServerOn(t, wx, set)

	token := a.login(t, "lb")
	info := a.userInfo(t, "lb", "负载均衡 ⚖️")
	bearer := []string{"Authorization", "Bearer " + token}
	if e, _ := b.post(t, "/api/v1/userinfo", map[string]string{"encryptedData": info.EncryptedData, "iv": info.IV}, bearer...); e.Code != 0 {
		t.Fatalf("userinfo on B with A's session: %+v", e)
	}

	// A restarted server still knows the session.
	if err := a.app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := startServerOn(t, wx, set)
	req, _ := http.NewRequest("GET", c.base+"/api/v1/me", nil)
	req.Header.Set(bearer[0], bearer[1])
	if e, _ := c.send(t, req); e.Code != 0 {
		t.Fatalf("me on a restarted server: %+v", e)
	}

	if e, _ := c.post(t, "/api/v1/logout", map[string]string{}, bearer...); e.Code != 0 {
		t.Fatalf("logout: %+v", e)
	}
	req, _ = http.NewRequest("GET", b.base+"/api/v1/me", nil)
	req.Header.Set(bearer[0], bearer[1])
	if e, _ := b.send(t, req); e.Code != 2 {
		t.Fatalf("me on B after logout on C: %+v", e)
	}
}

// TestE2E_RedisOutageIs503AndRecovers cuts the server off from Redis: requests
// with a token and /readyz answer code 9 (503) within the Redis timeout, and
// the same session works again once Redis is back.
func TestE2E_RedisOutageIs503AndRecovers(t *testing.T) {
	sess, rc := redisSessions(t)
	proxy := tcpproxy.Start(t, rc.Addrs[0])
	rc.Addrs = []string{proxy.Addr()}
	rc.Timeout = 300 * time.Millisecond
	s := startServer(t, func(c *config.Config) { c.DB, c.Sessions, c.Redis = sqliteDB(t), sess, rc })
	login := struct{ Token string }{s.login(t, "outage")}
	me := func() (envelope, int) {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+login.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e envelope
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return e, resp.StatusCode
	}

	proxy.Down()
	start := time.Now()
	if e, status := me(); e.Code != 9 || status != http.StatusServiceUnavailable {
		t.Fatalf("me with Redis down: %d %+v", status, e)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("code 9 took %v with a %v Redis timeout", d, rc.Timeout)
	}
	req, _ := http.NewRequest("GET", s.base+"/readyz", nil)
	if e, _ := s.send(t, req); e.Code != 9 {
		t.Fatalf("readyz with Redis down: %+v", e)
	}

	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, status := me()
		if e.Code == 0 && status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after Redis returned: %d %+v", status, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2E_SandboxRotatesKeysAndSpendsCodes checks the backend against the
// sandbox's WeChat semantics: a re-login on another device rotates the
// session_key, so data sealed before it answers code 4 on every token of the
// user while fresh data works on all of them; a spent or unknown code is code 3.
func TestE2E_SandboxRotatesKeysAndSpendsCodes(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.DB, c.App.LoginReplayWindow = sqliteDB(t), 0 })
	first := s.login(t, "rotating")
	before := s.userInfo(t, "rotating", "before 🌅")
	second := s.login(t, "rotating") // the same user on another device
	after := s.userInfo(t, "rotating", "after 🌇")
	for _, token := range []string{first, second} {
		bearer := []string{"Authorization", "Bearer " + token}
		if e, _ := s.post(t, "/api/v1/userinfo", map[string]string{"encryptedData": before.EncryptedData, "iv": before.IV}, bearer...); e.Code != 4 || e.Msg == "" {
			t.Fatalf("data sealed before the re-login: %+v, want code 4", e)
		}
		if e, _ := s.post(t, "/api/v1/userinfo", map[string]string{"encryptedData": after.EncryptedData, "iv": after.IV,
			"rawData": after.RawData, "signature": after.Signature}, bearer...); e.Code != 0 {
			t.Fatalf("data sealed under the newest key: %+v", e)
		}
	}

	code, err := s.sb.Login(context.Background(), "spender")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := s.post(t, "/login/", map[string]string{"code": code}); e.Code != 0 {
		t.Fatalf("first use: %+v", e)
	}
	for name, c := range map[string]string{"spent": code, "unknown": "0a1b2c3d4e5f"} {
		if e, _ := s.post(t, "/login/", map[string]string{"code": c}); e.Code != 3 {
			t.Errorf("%s code: %+v, want code 3", name, e)
		}
	}
}

// TestE2E_RateLimitsAreSharedThroughRedis: two servers on one Redis count a
// client's logins together.
func TestE2E_RateLimitsAreSharedThroughRedis(t *testing.T) {
	sess, rc := redisSessions(t)
	wx := newSharedSandbox(t)
	set := func(c *config.Config) {
		c.DB, c.Sessions, c.Redis = sqliteDB(t), sess, rc
		c.Limits.LoginPerMinute = 3
	}
	a, b := startServerOn(t, wx, set), startServerOn(t, wx, set)
	for i, s := range []*server{a, b, a} {
		s.login(t, fmt.Sprintf("limited-%d", i))
	}
	code, err := wx.sb.Login(context.Background(), "limited-3")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := b.post(t, "/api/v1/login", map[string]string{"code": code}); e.Code != 7 {
		t.Fatalf("the 4th login of a client across two servers: %+v, want code 7", e)
	}
}

// clientFrom returns an HTTP client whose connections leave from ip, a
// loopback address: two of them are two clients to the server.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: contract.Wrap(&http.Transport{DialContext: d.DialContext}), Timeout: 10 * time.Second}
}

// TestE2E_LoginReplayIsBoundToTheClient: a code re-sent within the replay
// window gets the same token only from the address and User-Agent that sent
// it first; from 127.0.0.2, or with another User-Agent, it is code 3.
func TestE2E_LoginReplayIsBoundToTheClient(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.DB = sqliteDB(t) })
	code, err := s.sb.Login(context.Background(), "replayed")
	if err != nil {
		t.Fatal(err)
	}
	login := func(from, ua string) (envelope, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.base+"/api/v1/login", strings.NewReader(`{"code":"`+code+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", ua)
		resp, err := clientFrom(from).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e envelope
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		var l struct{ Token string }
		_ = json.Unmarshal(e.Data, &l)
		return e, l.Token
	}
	const phoneUA = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"
	first, token := login("127.0.0.1", phoneUA)
	if first.Code != 0 || token == "" {
		t.Fatalf("first login: %+v", first)
	}
	if e, tok := login("127.0.0.2", phoneUA); e.Code != 3 || tok != "" {
		t.Fatalf("the code from another address: %+v, want code 3", e)
	}
	if e, tok := login("127.0.0.1", "curl/8.5.0"); e.Code != 3 || tok != "" {
		t.Fatalf("the code with another User-Agent: %+v, want code 3", e)
	}
	if e, tok := login("127.0.0.1", phoneUA); e.Code != 0 || tok != token {
		t.Fatalf("the same client's retry: %+v, same token %v", e, tok == token)
	}
}
