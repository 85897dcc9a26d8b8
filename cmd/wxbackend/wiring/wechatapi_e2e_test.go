package wiring_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/internal/sim/sandbox"
)

// TestE2E_PhoneBothFormsOnEveryDatabase: getPhoneNumber's code and its
// older encrypted form each store the number, on SQLite, MariaDB and
// PostgreSQL; /api/v1/session asks WeChat about the key, once per key within
// WXB_SESSION_CHECK_TTL; the number can be
// removed; and it never reaches the log, even at debug level.
func TestE2E_PhoneBothFormsOnEveryDatabase(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			db := d.db(t)
			s := startServer(t, func(c *config.Config) { c.DB, c.Log.Level = db, "debug" })
			ctx := context.Background()
			api := apiclient.New(s.base, nil)
			user := "phone-" + d.name
			code, _ := s.sb.Login(ctx, user)
			login, _, err := api.Login(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			phoneCode, enc, err := s.sb.GetPhoneNumber(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			want := sandbox.PhoneOf(user)
			p, _, err := api.SharePhone(ctx, login.Token, phoneCode)
			if err != nil || p.PurePhoneNumber != want || p.CountryCode != "86" {
				t.Fatalf("by code: %+v, %v", p, err)
			}
			if _, resp, _ := api.SharePhone(ctx, login.Token, phoneCode); resp.Envelope.Code != 3 {
				t.Fatalf("a used phone code: %+v", resp.Envelope)
			}
			if _, _, err := api.RemovePhone(ctx, login.Token); err != nil {
				t.Fatal(err)
			}
			p, _, err = api.SharePhoneEncrypted(ctx, login.Token, enc.EncryptedData, enc.IV)
			if err != nil || p.PurePhoneNumber != want {
				t.Fatalf("by encrypted data: %+v, %v", p, err)
			}
			if _, resp, _ := api.SharePhoneEncrypted(ctx, login.Token, enc.EncryptedData[:len(enc.EncryptedData)-4]+"AAA=", enc.IV); resp.Envelope.Code != 4 && resp.Envelope.Code != 1 {
				t.Fatalf("tampered encrypted data: %+v", resp.Envelope)
			}
			me, _, err := api.Me(ctx, login.Token)
			if err != nil || me.PurePhoneNumber != want {
				t.Fatalf("me: %+v, %v", me, err)
			}
			st, _, err := api.Session(ctx, login.Token)
			if err != nil || !st.WeChatSessionValid || st.ExpiresIn <= 0 {
				t.Fatalf("session: %+v, %v", st, err)
			}
			checks := s.sb.Counters().CheckSessions
			_, _ = s.sb.Login(ctx, user) // wx.login elsewhere: WeChat now holds another key
			// Within WXB_SESSION_CHECK_TTL the server answers from its check
			// of this key, without asking WeChat again.
			if st, _, err := api.Session(ctx, login.Token); err != nil || !st.WeChatSessionValid || s.sb.Counters().CheckSessions != checks {
				t.Fatalf("session checked again within the TTL: %+v, %v, %d checksession calls (was %d)", st, err, s.sb.Counters().CheckSessions, checks)
			}
			// A login here brings a new key, which is checked afresh: after
			// another wx.login elsewhere, WeChat no longer holds it.
			code, _ = s.sb.Login(ctx, user)
			relogin, _, err := api.Login(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = s.sb.Login(ctx, user)
			if st, _, err := api.Session(ctx, relogin.Token); err != nil || st.WeChatSessionValid {
				t.Fatalf("session after the key rotated: %+v, %v", st, err)
			}
			if logs := s.logs.String(); strings.Contains(logs, want) {
				t.Fatal("the phone number is in the log")
			}
		})
	}
}

// TestE2E_FourServersShareOneAccessToken: four servers on one Redis under
// concurrent load fetch the access token once; a token invalidated mid-load
// (as another party's cgi-bin/token call does) costs one more fetch and no
// failed request.
func TestE2E_FourServersShareOneAccessToken(t *testing.T) {
	sess, rc := redisSessions(t)
	wx := newSharedSandbox(t)
	db := sqliteDB(t)
	var servers []*server
	for i := 0; i < 4; i++ {
		servers = append(servers, startServerOn(t, wx, func(c *config.Config) {
			c.DB, c.Sessions, c.Redis = db, sess, rc
			c.Limits.LoginPerMinute, c.Limits.SessionPerMinute = 0, 0
			c.Memory.SessionCheckTTL = 0 // every session check uses the access token measured here
		}))
	}
	ctx := context.Background()
	type client struct {
		api   *apiclient.Client
		token string
	}
	var clients []client
	for i := 0; i < 16; i++ {
		s := servers[i%4]
		code, _ := wx.sb.Login(ctx, fmt.Sprintf("load-%d", i))
		login, _, err := apiclient.New(s.base, nil).Login(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client{apiclient.New(s.base, nil), login.Token})
	}
	load := func(rounds int, midway func()) (failed int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < rounds; r++ {
					if i == 0 && r == rounds/2 && midway != nil {
						midway()
					}
					if _, _, err := c.api.Session(ctx, c.token); err != nil {
						mu.Lock()
						failed++
						t.Logf("request failed: %v", err)
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return failed
	}
	start := time.Now()
	if failed := load(10, nil); failed != 0 {
		t.Fatalf("%d failed requests", failed)
	}
	if n := wx.sb.Counters().TokenRequests; n != 1 {
		t.Fatalf("%d token fetches for 4 servers, want 1", n)
	}
	if failed := load(10, wx.sb.InvalidateAccessToken); failed != 0 {
		t.Fatalf("%d failed requests around the 40001", failed)
	}
	c := wx.sb.Counters()
	if c.TokenRequests != 2 || c.ForcedTokens != 0 {
		t.Fatalf("after a 40001: %d token fetches (%d forced), want 2 and 0", c.TokenRequests, c.ForcedTokens)
	}
	t.Logf("%d checksession calls in %v, %d answered 40001, %d token fetches", c.CheckSessions, time.Since(start), c.Rejected, c.TokenRequests)
}
