package wiring_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/crypto"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/redis"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/testenv"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/app/wiring"
	"wxbackend/config"
	"wxbackend/domain"
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

// fakeWeChat serves jscode2session in WeChat's wire format for codes it issued.
type fakeWeChat struct {
	mu    sync.Mutex
	codes map[string][2]string // code → openid, session_key
	used  map[string]bool
	// hold, when set, is waited on before answering (a slow WeChat).
	hold chan struct{}
	// held is told of each request that waits on hold.
	held chan struct{}
}

func newFakeWeChat(t *testing.T) (*fakeWeChat, string) {
	w := &fakeWeChat{codes: map[string][2]string{}, used: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		hold, held := w.hold, w.held
		w.mu.Unlock()
		if hold != nil {
			held <- struct{}{}
			<-hold
		}
		q := r.URL.Query()
		rw.Header().Set("Content-Type", "text/plain")
		if r.URL.Path != "/sns/jscode2session" || q.Get("appid") != appID || q.Get("secret") != appSecret {
			fmt.Fprint(rw, `{"errcode":40125,"errmsg":"invalid appsecret"}`)
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		c, ok := w.codes[q.Get("js_code")]
		switch {
		case !ok:
			fmt.Fprint(rw, `{"errcode":40029,"errmsg":"invalid code"}`)
		case w.used[q.Get("js_code")]:
			fmt.Fprint(rw, `{"errcode":40163,"errmsg":"code been used"}`)
		default:
			w.used[q.Get("js_code")] = true
			fmt.Fprintf(rw, `{"session_key":%q,"openid":%q}`, c[1], c[0])
		}
	}))
	t.Cleanup(srv.Close)
	return w, srv.URL
}

func (w *fakeWeChat) issue(code, openID, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codes[code] = [2]string{openID, key}
}

// server is a running wxbackend.
type server struct {
	base   string
	logs   *syncBuffer
	wechat *fakeWeChat
	cfg    config.Config
	app    *fx.App
}

func startServer(t *testing.T, db config.DB, logLevel string) *server {
	t.Helper()
	wx, wxURL := newFakeWeChat(t)
	return startServerWith(t, wx, wxURL, func(c *config.Config) {
		c.DB = db
		c.Log.Level = logLevel
	})
}

// startServerWith starts a server talking to the given WeChat, configured by set.
func startServerWith(t *testing.T, wx *fakeWeChat, wxURL string, set func(*config.Config)) *server {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.WeChat.AppID, cfg.WeChat.AppSecret, cfg.WeChat.BaseURL = appID, appSecret, wxURL
	set(&cfg)
	logLevel := cfg.Log.Level
	logs := &syncBuffer{}
	var srv *httpapi.Server
	_ = logLevel
	a := fx.New(wiring.Options(cfg, logs), fx.Populate(&srv))
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
	return &server{base: "http://" + srv.Addr(), logs: logs, wechat: wx, cfg: cfg, app: a}
}

type envelope struct {
	Code   int             `json:"code"`
	Status int             `json:"status"`
	Msg    string          `json:"msg"`
	Data   json.RawMessage `json:"data"`
}

// post sends body as JSON (a map) or as a raw form string, as a mini-program would.
func (s *server) post(t *testing.T, path string, body any, header ...string) (envelope, string) {
	t.Helper()
	var req *http.Request
	switch b := body.(type) {
	case map[string]string:
		js, _ := json.Marshal(b)
		req, _ = http.NewRequest("POST", s.base+path, bytes.NewReader(js))
		req.Header.Set("Content-Type", "application/json")
	case string:
		req, _ = http.NewRequest("POST", s.base+path, strings.NewReader(b))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return s.send(t, req)
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

// encryptedUserInfo is what wx.getUserInfo returns for profile under key.
func encryptedUserInfo(t *testing.T, key, openID, nick string) (data, iv string) {
	t.Helper()
	k, err := domain.ParseSessionKey(key)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := json.Marshal(map[string]any{
		"openId": openID, "nickName": nick, "gender": 2, "language": "zh_CN", "city": "Guangzhou",
		"province": "Guangdong", "country": "CN", "avatarUrl": "https://thirdwx.qlogo.cn/mmopen/vi_32/x/132",
		"watermark": map[string]any{"appid": appID, "timestamp": time.Now().Unix()},
	})
	var ivb [16]byte
	copy(ivb[:], openID+nick)
	data, err = crypto.Encrypt(k, ivb, plain)
	if err != nil {
		t.Fatal(err)
	}
	return data, base64.StdEncoding.EncodeToString(ivb[:])
}

func sqliteDB(t *testing.T) config.DB {
	db := config.Default().DB
	db.DSN = config.Secret("file:" + filepath.Join(t.TempDir(), "e2e.db"))
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

// runFlow logs in and uploads the profile through the seed or v1 routes, with
// a JSON or a form body, and checks the row in the database.
func runFlow(t *testing.T, s *server, seed, form bool, driver, dsn string) {
	t.Helper()
	openID := fmt.Sprintf("oE2E-%v-%v-%d", seed, form, time.Now().UnixNano())
	key := base64.StdEncoding.EncodeToString([]byte(openID)[len(openID)-16:])
	code := "code-" + openID
	s.wechat.issue(code, openID, key)
	loginPath, infoPath := "/api/v1/login", "/api/v1/userinfo"
	if seed {
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
	data, iv := encryptedUserInfo(t, key, openID, nick)
	field := "encryptedData"
	if seed {
		field = "encrypedData" // the seed client's spelling
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
	if seed {
		wantKey = "name"
	}
	if p[wantKey] != nick {
		t.Fatalf("answered %v, want %s %q", p, wantKey, nick)
	}
	if got := storedNick(t, driver, dsn, openID); got != nick {
		t.Fatalf("database holds %q, want %q", got, nick)
	}
}

// databases are the user stores the end-to-end tests run on.
var databases = []struct {
	name string
	db   func(t *testing.T) config.DB
}{
	{"sqlite", sqliteDB},
	{"mysql", func(t *testing.T) config.DB { return serverDB("mysql", sqltest.MySQL(t)) }},
	{"postgres", func(t *testing.T) config.DB { return serverDB("postgres", sqltest.Postgres(t)) }},
}

func serverDB(driver, dsn string) config.DB {
	db := config.Default().DB
	db.Driver, db.DSN = driver, config.Secret(dsn)
	return db
}

func TestE2E_EveryDatabaseWithMemorySessions(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			db := d.db(t)
			s := startServer(t, db, "info")
			for _, seed := range []bool{true, false} {
				for _, form := range []bool{false, true} {
					t.Run(fmt.Sprintf("seed=%v/form=%v", seed, form), func(t *testing.T) {
						runFlow(t, s, seed, form, db.Driver, db.DSN.Reveal())
					})
				}
			}
		})
	}
}

func TestE2E_NoSecretInLogsOrResponses(t *testing.T) {
	db := sqliteDB(t)
	s := startServer(t, db, "debug")
	const key = "c2VjcmV0LXNlc3Mta2V5IQ=="
	s.wechat.issue("c-secret", "oSecret", key)
	var seen strings.Builder
	e, raw := s.post(t, "/api/v1/login", map[string]string{"code": "c-secret"})
	if strings.Contains(raw, key) { // the token is in this answer, by design; the key must not be
		t.Error("the login answer shows the session_key")
	}
	var login struct{ Token string }
	_ = json.Unmarshal(e.Data, &login)
	data, iv := encryptedUserInfo(t, key, "oSecret", "n")
	for _, req := range []struct {
		path string
		body map[string]string
	}{
		{"/api/v1/userinfo", map[string]string{"encryptedData": data, "iv": iv}},
		{"/api/v1/userinfo", map[string]string{"encryptedData": data[:len(data)-4] + "AAA=", "iv": iv}},
		{"/api/v1/userinfo", map[string]string{"encryptedData": data, "iv": "bad"}},
		{"/api/v1/login", map[string]string{"code": "unknown-code"}},
		{"/api/v1/logout", map[string]string{}},
		{"/api/v1/logout", map[string]string{}}, // already out
	} {
		_, raw := s.post(t, req.path, req.body, "Authorization", "Bearer "+login.Token)
		seen.WriteString(raw)
	}
	seen.WriteString(s.logs.String())
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
	s := startServer(t, sqliteDB(t), "info")
	s.wechat.issue("slow", "oSlow", "AAECAwQFBgcICQoLDA0ODw==")
	s.wechat.mu.Lock()
	s.wechat.hold, s.wechat.held = make(chan struct{}), make(chan struct{}, 1)
	s.wechat.mu.Unlock()
	done := make(chan envelope, 1)
	go func() {
		e, _ := s.post(t, "/login/", map[string]string{"code": "slow"})
		done <- e
	}()
	<-s.wechat.held // the login is in flight, waiting on WeChat
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
	close(s.wechat.hold)
	if e := <-done; e.Code != 0 {
		t.Fatalf("the in-flight login: %+v", e)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// redisSessions returns the session config for the test Redis, with a key
// prefix of the test's own.
func redisSessions(t *testing.T) (config.Session, config.Redis) {
	t.Helper()
	addr := testenv.Get("WXB_TEST_REDIS_ADDR", "127.0.0.1:6379")
	s, r := config.Default().Session, config.Default().Redis
	s.Store = "redis"
	r.Addrs = addr
	r.KeyPrefix = fmt.Sprintf("wxbtest:e2e:%d:", time.Now().UnixNano())
	st, err := redis.NewSessionStore(wiring.RedisOptions(r, 0))
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
			wx, wxURL := newFakeWeChat(t)
			s := startServerWith(t, wx, wxURL, func(c *config.Config) { c.DB, c.Session, c.Redis = db, sess, rc })
			for _, seed := range []bool{true, false} {
				for _, form := range []bool{false, true} {
					t.Run(fmt.Sprintf("seed=%v/form=%v", seed, form), func(t *testing.T) {
						runFlow(t, s, seed, form, db.Driver, db.DSN.Reveal())
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
	wx, wxURL := newFakeWeChat(t)
	set := func(c *config.Config) { c.DB, c.Session, c.Redis = db, sess, rc }
	a := startServerWith(t, wx, wxURL, set)
	b := startServerWith(t, wx, wxURL, set)

	const key = "AAECAwQFBgcICQoLDA0ODw=="
	wx.issue("code-lb", "oLB", key)
	e, _ := a.post(t, "/api/v1/login", map[string]string{"code": "code-lb"})
	var login struct{ Token string }
	if err := json.Unmarshal(e.Data, &login); err != nil || e.Code != 0 {
		t.Fatalf("login on A: %+v", e)
	}
	data, iv := encryptedUserInfo(t, key, "oLB", "负载均衡 ⚖️")
	bearer := []string{"Authorization", "Bearer " + login.Token}
	if e, _ := b.post(t, "/api/v1/userinfo", map[string]string{"encryptedData": data, "iv": iv}, bearer...); e.Code != 0 {
		t.Fatalf("userinfo on B with A's session: %+v", e)
	}

	// A restarted server still knows the session.
	if err := a.app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := startServerWith(t, wx, wxURL, set)
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
	proxy := tcpproxy.Start(t, rc.Addrs)
	rc.Addrs = proxy.Addr()
	rc.Timeout = 300 * time.Millisecond
	wx, wxURL := newFakeWeChat(t)
	s := startServerWith(t, wx, wxURL, func(c *config.Config) { c.DB, c.Session, c.Redis = sqliteDB(t), sess, rc })

	const key = "AAECAwQFBgcICQoLDA0ODw=="
	wx.issue("code-outage", "oOutage", key)
	e, _ := s.post(t, "/api/v1/login", map[string]string{"code": "code-outage"})
	var login struct{ Token string }
	if err := json.Unmarshal(e.Data, &login); err != nil || e.Code != 0 {
		t.Fatalf("login: %+v", e)
	}
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
