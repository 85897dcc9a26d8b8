package wiring_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/internal/sim/sandbox"
)

// TestFaults_WeChat: WeChat hung, failing, garbled or cut off gives code 8
// (504 for a timeout, 502 otherwise) within the configured timeout, and
// nothing is written.
func TestFaults_WeChat(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.DB, c.WeChat.Timeout, c.App.LoginReplayWindow = sqliteDB(t), 300*time.Millisecond, 0
	})
	for _, c := range []struct {
		name   string
		fault  sandbox.Fault
		status int
	}{
		{"hung", sandbox.Fault{Hang: true}, http.StatusGatewayTimeout},
		{"5xx", sandbox.Fault{Status: 503, Body: "<html>503</html>"}, http.StatusBadGateway},
		{"garbage", sandbox.Fault{Status: 200, Body: "\x1f\x8b\x00garbage"}, http.StatusBadGateway},
		{"reset", sandbox.Fault{Reset: true, Times: 2}, http.StatusBadGateway},
		{"busy (-1)", sandbox.Fault{Errcode: -1}, http.StatusBadGateway},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, err := s.sb.Login(context.Background(), "fault-"+c.name)
			if err != nil {
				t.Fatal(err)
			}
			s.sb.InjectFault(c.fault)
			defer s.sb.ClearFaults() // a reset on a fresh connection is not retried: one may be left
			start := time.Now()
			resp, err := http.Post(s.base+"/login/", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(body), `"code":8`) {
				t.Fatalf("HTTP %d %s, want %d and code 8", resp.StatusCode, body, c.status)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v with a 300ms WeChat timeout", d)
			}
		})
	}
	// The backend did not record any of those users.
	db, err := sql.Open("sqlite", s.cfg.DB.DSN.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM wx_users`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d users written by failed logins (%v)", n, err)
	}
}

// TestFaults_StoresDownMidLoad stops the database and Redis (through proxies)
// while clients log in and save profiles: requests answer code 9 while they
// are down and succeed again once they are back, and every request that got
// code 0 is in the database afterwards.
func TestFaults_StoresDownMidLoad(t *testing.T) {
	dsn := sqltest.Postgres(t)
	dbProxy := tcpproxy.Start(t, sqltest.PostgresServerAddr(t))
	sess, rc := redisSessions(t)
	redisProxy := tcpproxy.Start(t, rc.Addrs[0])
	rc.Addrs, rc.Timeout = []string{redisProxy.Addr()}, 300*time.Millisecond
	db := serverDB("postgres", sqltest.WithAddr(t, "postgres", dsn, dbProxy.Addr()))
	db.QueryTimeout = 500 * time.Millisecond
	s := startServer(t, func(c *config.Config) {
		c.DB, c.Sessions, c.Redis = db, sess, rc
		// No rate limits: the run logs in faster than 50 new users a second
		// (the default jscode2session cap), and only the outage is measured.
		c.Limits.LoginPerMinute, c.Limits.SessionPerMinute, c.Limits.WeChatLoginsPerSecond = 0, 0, 0
	})

	var (
		mu       sync.Mutex
		logins   []string              // users whose login got code 0
		last     = map[string]string{} // user → nick of its last code-0 save
		attempts = map[string][]string{}
		codes    = map[int]int{}
	)
	ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				user := fmt.Sprintf("down-%d-%d", w, i)
				code, err := s.sb.Login(context.Background(), user)
				if err != nil {
					t.Error(err)
					return
				}
				e, err := postQuiet(s.base, "/api/v1/login", `{"code":"`+code+`"}`, "")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				codes[e.Code]++
				if e.Code == 0 {
					logins = append(logins, user)
				}
				mu.Unlock()
				if e.Code != 0 {
					continue
				}
				token := tokenOf(e)
				for j := 0; j < 3; j++ {
					nick := fmt.Sprintf("%s v%d 🔌", user, j)
					info := userInfoQuiet(t, s, user, nick)
					e, err := postQuiet(s.base, "/api/v1/userinfo", `{"encryptedData":"`+info.EncryptedData+`","iv":"`+info.IV+`"}`, token)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					codes[e.Code]++
					attempts[user] = append(attempts[user], nick)
					if e.Code == 0 {
						last[user] = nick
					}
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(800 * time.Millisecond)
	dbProxy.Down()
	redisProxy.Down()
	time.Sleep(800 * time.Millisecond)
	if err := dbProxy.Up(); err != nil {
		t.Fatal(err)
	}
	if err := redisProxy.Up(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	for code, n := range codes {
		if code != 0 && code != 9 {
			t.Errorf("%d answers of code %d: only 0 and 9 are expected", n, code)
		}
	}
	if codes[9] == 0 || codes[0] == 0 {
		t.Fatalf("codes %v: the run did not see both the outage and success", codes)
	}
	// After recovery, the tail of the run succeeded.
	if e, _ := postQuiet(s.base, "/readyz", "", ""); e.Code != 0 {
		t.Fatalf("not ready after the stores came back: %+v", e)
	}

	direct, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	for _, user := range logins {
		var nick string
		err := direct.QueryRow(`SELECT nick_name FROM wx_users WHERE app_id = $1 AND open_id = $2`, appID, s.openID(t, user)).Scan(&nick)
		if err != nil {
			t.Fatalf("%s logged in (code 0) but has no row: %v", user, err)
		}
		want, ok := last[user]
		if !ok {
			continue
		}
		// The row holds the last save that answered 0, or a later one whose
		// answer was lost with the connection (written, then cut off).
		tail := attempts[user]
		for i, a := range tail {
			if a == want {
				tail = tail[i:]
				break
			}
		}
		found := false
		for _, a := range tail {
			found = found || a == nick
		}
		if !found {
			t.Fatalf("%s: database holds %q, but its last code-0 save was %q", user, nick, want)
		}
	}
	t.Logf("answers by code: %v; %d logins, %d users with a saved profile", codes, len(logins), len(last))
}

func tokenOf(e envelope) string {
	var d apiclient.Login
	_ = json.Unmarshal(e.Data, &d)
	return d.Token
}

// postQuiet posts body (GET when empty) to the server at base and decodes
// the envelope, reporting transport errors instead of failing, for use from
// many goroutines.
func postQuiet(base, path, body, token string) (envelope, error) {
	req := apiclient.Request{Path: path, Token: token}
	if body == "" {
		req.Method = http.MethodGet
	} else {
		req.RawBody = []byte(body)
	}
	resp, err := apiclient.New(base, nil).Do(context.Background(), req)
	return resp.Envelope, err
}

func userInfoQuiet(t *testing.T, s *server, user, nick string) sandbox.UserInfo {
	ctx := context.Background()
	u, err := s.sb.User(ctx, user)
	if err != nil {
		t.Error(err)
	}
	u.Profile.NickName = nick
	_ = s.sb.SetProfile(ctx, user, u.Profile)
	info, err := s.sb.GetUserInfo(ctx, user)
	if err != nil {
		t.Error(err)
	}
	return info
}

// TestFaults_SlowClients: a client that dribbles its headers or its body is
// cut off by the server's timeouts instead of holding a connection forever.
func TestFaults_SlowClients(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.DB = sqliteDB(t)
		c.Server.ReadHeaderTimeout, c.Server.ReadTimeout, c.Server.IdleTimeout = 300*time.Millisecond, 600*time.Millisecond, 500*time.Millisecond
	})
	addr := strings.TrimPrefix(s.base, "http://")
	closedWithin := func(name string, conn net.Conn, within time.Duration) {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(within))
		start := time.Now()
		_, err := io.ReadAll(bufio.NewReader(conn))
		if err != nil && strings.Contains(err.Error(), "timeout") {
			t.Fatalf("%s: the server held the connection for %v", name, within)
		}
		t.Logf("%s: closed after %v", name, time.Since(start).Round(time.Millisecond))
	}

	// Headers, one byte at a time, never finished.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("POST /login/ HTTP/1.1\r\nHost: x\r\n"))
	closedWithin("slow headers", conn, 3*time.Second)

	// Headers sent, the body promised but trickled.
	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	_, _ = conn2.Write([]byte("POST /login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"))
	closedWithin("slow body", conn2, 3*time.Second)

	// An idle keep-alive connection is closed after the idle timeout.
	conn3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn3.Close()
	_, _ = conn3.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	r := bufio.NewReader(conn3)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = conn3.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := r.ReadByte(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("an idle keep-alive connection stayed open: %v", err)
	}
}
