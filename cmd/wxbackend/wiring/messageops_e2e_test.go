package wiring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

// opsServer is a server with the internal listener (a key of scope
// messages) and metrics, on db, against the shared sandbox sb.
type opsServer struct {
	*server
	internal, metrics, key string
}

func startOpsServer(t *testing.T, sb *sharedSandbox, db sqlstore.Options, set func(*config.Config)) *opsServer {
	t.Helper()
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys.toml")
	if err := os.WriteFile(keys, []byte(apikeys.Block(apikeys.Entry{Name: "notify", SHA256: digest, Scopes: []string{"messages"}})), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret, cfg.WeChat.BaseURL = appID, appSecret, sb.url
	cfg.DB = db
	cfg.Internal.Addr, cfg.APIKeys.File = "127.0.0.1:0", keys
	cfg.Metrics.Addr = wiringtest.FreeAddr(t)
	if set != nil {
		set(&cfg)
	}
	var internal wiring.InternalServer
	s := launch(t, cfg, fx.Populate(&internal))
	s.sb = sb.sb
	return &opsServer{server: s, internal: "http://" + internal.Addr(), metrics: cfg.Metrics.Addr, key: key}
}

// sendMessage posts a message to the internal listener and returns its id.
func (s *opsServer) sendMessage(t *testing.T, body string) int64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.internal+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	// Past the public document's check: adapters/httpapi's tests hold the
	// internal listener's answers to its own.
	resp, err := (&http.Client{Transport: contract.Base}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct{ Data httpapi.MessageView }
	if err := json.Unmarshal(raw, &e); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("send: HTTP %d %s", resp.StatusCode, raw)
	}
	return e.Data.ID
}

// messagesCmd runs an operator's messages command on cfg's stores.
func messagesCmd(cfg config.Config, cmd wiring.MessagesCommand) (string, error) {
	var out bytes.Buffer
	cmd.Out = &out
	err := wiring.RunMessages(cfg, cmd)
	return out.String(), err
}

// A message accepted by a server whose worker is idle is counted queued and
// ages in the backlog gauge, and the operator sees it queued; the next
// server sends it (counted sent, the backlog empty). A message WeChat
// refuses is counted failed with its errcode, listed failed, retried by
// the operator and sent. On SQLite and PostgreSQL.
func TestE2E_MessagesMetricsAndOperatorCommands(t *testing.T) {
	for _, d := range []struct {
		name string
		db   func(t *testing.T) sqlstore.Options
	}{databases[0], databases[2]} { // sqlite, postgres
		t.Run(d.name, func(t *testing.T) {
			db := d.db(t)
			sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: appSecret, UnionIDs: true})
			srv := httptest.NewServer(sb.Handler())
			t.Cleanup(srv.Close)
			shared := &sharedSandbox{sb: sb, url: srv.URL}
			ctx := context.Background()

			// Server A's worker looks once, at start, then idles for an hour.
			a := startOpsServer(t, shared, db, func(c *config.Config) { c.App.Messages.PollInterval = time.Hour })
			api := apiclient.New(a.base, nil)
			code, _ := sb.Login(ctx, "notified")
			login, _, err := api.Login(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := api.Subscribe(ctx, login.Token, map[string]string{"tmpl": "accept"}); err != nil {
				t.Fatal(err)
			}
			u, _ := sb.User(ctx, "notified")
			if u.UnionID == "" {
				t.Fatal("the sandbox gave no unionid")
			}
			if err := sb.Subscribe(u.OpenID, map[string]string{"tmpl": "accept"}); err != nil { // WeChat's side of the tap
				t.Fatal(err)
			}
			// By user_id: the unionid, sent to the app's openid.
			first := a.sendMessage(t, `{"user_id":"`+u.UnionID+`","template_id":"tmpl","data":{"thing1":"已发货"}}`)
			m := scrape(t, a.metrics)
			if got := value(m, "wxb_messages_queued_total", "app", appID); got != 1 {
				t.Fatalf("queued: %v", got)
			}
			waitFor(t, 10*time.Second, "the backlog's age", func() bool {
				return value(scrape(t, a.metrics), "wxb_messages_oldest_queued_seconds") > 0
			})
			out, err := messagesCmd(a.cfg, wiring.MessagesCommand{Verb: "list", Status: "queued"})
			if err != nil || !strings.Contains(out, u.OpenID) || !strings.Contains(out, "tmpl") || !strings.Contains(out, "queued") {
				t.Fatalf("list --status queued: %v\n%s", err, out)
			}
			if out, err := messagesCmd(a.cfg, wiring.MessagesCommand{Verb: "list", Status: "sent"}); err != nil || !strings.Contains(out, "no message found") {
				t.Fatalf("list --status sent: %v\n%s", err, out)
			}
			if _, err := messagesCmd(a.cfg, wiring.MessagesCommand{Verb: "retry", Target: itoa(first)}); err == nil || !strings.Contains(err.Error(), "still being tried") {
				t.Fatalf("retry of a queued message: %v", err)
			}
			if _, err := messagesCmd(a.cfg, wiring.MessagesCommand{Verb: "show", Target: "999999"}); !errors.Is(err, wiring.ErrNotFound) || err.Error() != "no message 999999" {
				t.Fatalf("show of none: %v", err)
			}
			if _, err := messagesCmd(a.cfg, wiring.MessagesCommand{Verb: "list", Status: "lost"}); err == nil || !strings.Contains(err.Error(), "--status lost") {
				t.Fatalf("list --status lost: %v", err)
			}
			if sent := sb.APICalls()["cgi-bin/message/subscribe/send"]; sent != 0 {
				t.Fatalf("the operator's commands sent %d messages", sent)
			}
			stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := a.app.Stop(stopCtx); err != nil {
				t.Fatal(err)
			}

			// Server B sends it, and one WeChat refuses, which the operator retries.
			b := startOpsServer(t, shared, db, nil)
			api = apiclient.New(b.base, nil)
			code, _ = sb.Login(ctx, "notified") // sessions were server A's (memory)
			if login, _, err = api.Login(ctx, code); err != nil {
				t.Fatal(err)
			}
			show := func(id int64) map[string]any {
				t.Helper()
				out, err := messagesCmd(b.cfg, wiring.MessagesCommand{Verb: "show", Target: itoa(id), JSON: true})
				var row map[string]any
				if err != nil || json.Unmarshal([]byte(out), &row) != nil {
					t.Fatalf("show %d: %v\n%s", id, err, out)
				}
				return row
			}
			waitFor(t, 10*time.Second, "sent by server B", func() bool { return show(first)["status"] == "sent" })
			if row := show(first); row["msgid"] == "" || row["data"].(map[string]any)["thing1"] != "已发货" {
				t.Fatalf("show: %v", row)
			}
			sb.InjectAPIFault("cgi-bin/message/subscribe/send", sandbox.Fault{Errcode: 40037, Times: 1})
			if _, _, err := api.Subscribe(ctx, login.Token, map[string]string{"tmpl": "accept"}); err != nil {
				t.Fatal(err)
			}
			if err := sb.Subscribe(u.OpenID, map[string]string{"tmpl": "accept"}); err != nil {
				t.Fatal(err)
			}
			second := b.sendMessage(t, `{"openid":"`+u.OpenID+`","template_id":"tmpl","data":{"thing1":"再发"}}`)
			waitFor(t, 10*time.Second, "failed", func() bool { return show(second)["status"] == "failed" })
			out, err = messagesCmd(b.cfg, wiring.MessagesCommand{Verb: "list", Status: "failed", JSON: true})
			var rows []map[string]any
			if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0]["id"] != float64(second) {
				t.Fatalf("list --status failed --json: %v\n%s", err, out)
			}
			if out, err := messagesCmd(b.cfg, wiring.MessagesCommand{Verb: "retry", Target: itoa(second)}); err != nil || !strings.Contains(out, "queued again") {
				t.Fatalf("retry: %v %s", err, out)
			}
			waitFor(t, 10*time.Second, "sent after the retry", func() bool { return show(second)["status"] == "sent" })
			if _, err := messagesCmd(b.cfg, wiring.MessagesCommand{Verb: "retry", Target: itoa(second)}); err == nil || !strings.Contains(err.Error(), "was sent") {
				t.Fatalf("retry of a sent message: %v", err)
			}
			m = scrape(t, b.metrics)
			for _, c := range []struct {
				result, errcode string
				want            float64
			}{{"sent", "0", 2}, {"failed", "40037", 1}} {
				if got := value(m, "wxb_message_attempts_total", "app", appID, "result", c.result, "errcode", c.errcode); got != c.want {
					t.Errorf("attempts %s %s: %v, want %v", c.result, c.errcode, got, c.want)
				}
			}
			if got := value(m, "wxb_messages_queued_total", "app", appID); got != 1 {
				t.Errorf("queued on B: %v, want 1", got)
			}
			if got := value(m, "wxb_messages_oldest_queued_seconds"); got != 0 {
				t.Errorf("backlog after every message was sent: %v", got)
			}
			if sent := sb.APICalls()["cgi-bin/message/subscribe/send"]; sent != 3 {
				t.Errorf("WeChat saw %d sends, want 3", sent)
			}
		})
	}
}
