package wiring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
)

// msgServer is a server with the internal listener and a key of scope
// messages, receiving WeChat's pushes from its sandbox.
type msgServer struct {
	*server
	internal string // the internal listener's base URL
	key      string
	sbURL    string
}

// writeMessagesKey writes a keys file with one key of scope messages.
func writeMessagesKey(t testing.TB) (path, key string) {
	t.Helper()
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "keys.toml")
	block := apikeys.Block(apikeys.Entry{Name: "notifier", SHA256: digest, Scopes: []string{string(domain.ScopeMessages)}})
	if err := os.WriteFile(path, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, key
}

// withMessages sets cfg up for subscribe messages: a fast worker, the
// internal listener.
func withMessages(cfg *config.Config, keysFile string) {
	cfg.App.Push.PollInterval = 20 * time.Millisecond
	cfg.App.Push.BackoffBase, cfg.App.Push.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	cfg.App.Messages.PollInterval = 20 * time.Millisecond
	cfg.App.Messages.BackoffBase, cfg.App.Messages.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	cfg.Internal.Addr = "127.0.0.1:0"
	cfg.APIKeys.File = keysFile
}

func startMessageServer(t *testing.T, set func(*config.Config)) *msgServer {
	t.Helper()
	path, key := writeMessagesKey(t)
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret = appID, appSecret
	cfg.DB = sqliteDB(t)
	withMessages(&cfg, path)
	// WeChat's pushes in safe mode, delivered to the sandbox's webhook.
	cfg.Push.Token, cfg.Push.EncodingAESKey, cfg.Push.WebhookSecret = pushToken, pushKey, webhookSecret
	if set != nil {
		set(&cfg)
	}
	sb := wiringtest.StartSandbox(t, &cfg)
	var internal wiring.InternalServer
	s := launch(t, cfg, fx.Populate(&internal))
	s.sb = sb.Sandbox
	return &msgServer{server: s, internal: "http://" + internal.Addr(), key: key, sbURL: sb.URL}
}

// internalCall sends a JSON body (nil: none) to the internal listener with
// the server's key and returns the envelope and the HTTP status.
func (s *msgServer) internalCall(t testing.TB, method, path string, body any) (envelope, int) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.internal+path, r)
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	// Past the public document's check: the internal listener has its own
	// document, which adapters/httpapi's tests hold its answers to.
	resp, err := (&http.Client{Transport: contract.Base}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e envelope
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("%s %s: not an envelope: %v", method, path, err)
	}
	return e, resp.StatusCode
}

// sendMessage is POST /v1/messages of a message to openID.
func (s *msgServer) sendMessage(t testing.TB, openID, tmpl, key, thing string) (envelope, int, httpapi.MessageView) {
	t.Helper()
	e, status := s.internalCall(t, http.MethodPost, "/v1/messages", map[string]any{"openid": openID, "template_id": tmpl,
		"page": "pages/index/index", "idempotency_key": key, "data": map[string]any{"thing1": map[string]string{"value": thing}}})
	var v httpapi.MessageView
	if e.Code == 0 {
		if err := json.Unmarshal(e.Data, &v); err != nil {
			t.Fatal(err)
		}
	}
	return e, status, v
}

func (s *msgServer) message(t testing.TB, id int64) httpapi.MessageView {
	t.Helper()
	e, status := s.internalCall(t, http.MethodGet, fmt.Sprint("/v1/messages/", id), nil)
	var v httpapi.MessageView
	if status != 200 || json.Unmarshal(e.Data, &v) != nil {
		t.Fatalf("GET message %d: %d %+v", id, status, e)
	}
	return v
}

// sandboxPost posts body to the sandbox's control face and decodes the answer into out.
func (s *msgServer) sandboxPost(t testing.TB, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.sbURL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s: %s", path, raw)
		}
	}
}

func (s *msgServer) pushURL() string { return s.base + "/wechat/push/" + appID }

// The whole path of a subscribe message, through the sandbox: no consent
// is refused by the server before WeChat; the user's tap (pushed by WeChat,
// reported by the page) allows one message, which is sent with its exact
// msgid and delivered by WeChat's sent event, which the sandbox pushes on
// its own shortly after the send, as WeChat does. A later tap, pushed by WeChat
// and reported by the page, allows one message more, as WeChat counts it:
// the one after is refused by the server, before WeChat.
func TestE2E_SubscribeMessageThroughTheSandbox(t *testing.T) {
	s := startMessageServer(t, nil)
	s.sb.SetPushURL(s.pushURL()) // the console's push URL: sent events are pushed on their own
	ctx := context.Background()
	token := s.login(t, "alice")
	openID := s.openID(t, "alice")
	const tmpl = "tmplOrderShipped"

	e, status, _ := s.sendMessage(t, openID, tmpl, "order-1", "已发货")
	if status != http.StatusForbidden || e.Code != 13 {
		t.Fatalf("without consent: %d %+v", status, e)
	}
	if n := s.sb.APICalls()["cgi-bin/message/subscribe/send"]; n != 0 {
		t.Fatalf("WeChat was asked %d times", n)
	}

	// The tap in wx.requestSubscribeMessage, then the page's report of it.
	var tap map[string]any
	s.sandboxPost(t, "/sandbox/subscribe", sandbox.SubscribeRequest{User: "alice", Templates: map[string]string{tmpl: "accept"}}, &tap)
	if tap[tmpl] != "accept" {
		t.Fatalf("tap: %v", tap)
	}
	subs, _, err := apiclient.New(s.base, nil).Subscribe(ctx, token, map[string]string{"errMsg": "requestSubscribeMessage:ok", tmpl: "accept"})
	if err != nil || len(subs.Subscriptions) != 1 || !subs.Subscriptions[0].Allowed || subs.Subscriptions[0].Remaining != 1 {
		t.Fatalf("report: %+v %v", subs, err)
	}

	e, status, v := s.sendMessage(t, openID, tmpl, "order-1", "已发货")
	if status != http.StatusAccepted || v.Status != domain.MessageQueued {
		t.Fatalf("send: %d %+v", status, e)
	}
	eventually(t, "the message delivered", func() bool { return s.message(t, v.ID).Status == domain.MessageDelivered })
	sent := s.sb.SentMessages()
	if got := s.message(t, v.ID); len(sent) != 1 || got.MsgID != fmt.Sprint(sent[0].MsgID) || sent[0].MsgID <= 1<<53 || got.State != ports.JobDone {
		t.Fatalf("message %+v; the sandbox sent %+v", got, sent)
	}
	var pushed struct{ Pushed []sandbox.SubscribePushed }
	s.sandboxPost(t, "/sandbox/subscribe/push", sandbox.SubscribePushRequest{URL: s.pushURL()}, &pushed)
	if len(pushed.Pushed) != 0 {
		t.Fatalf("the sent event pushed again: %+v", pushed)
	}

	// The same event again, and an event of a msgid no one sent: recorded,
	// answered success, nothing changes.
	for _, msgID := range []int64{sent[0].MsgID, sent[0].MsgID + 1000} {
		ev := sandbox.EventXML(map[string]any{"ToUserName": "gh_e2e", "FromUserName": openID, "CreateTime": time.Now().Unix(),
			"MsgType": "event", "Event": "subscribe_msg_sent_event", "SubscribeMsgSentEvent": map[string]any{"List": []map[string]any{
				{"TemplateId": tmpl, "MsgID": msgID, "ErrorCode": 0, "ErrorStatus": "success"}}}})
		if status, text := pushTo(t, s.base, ev); status != 200 || text != "success" {
			t.Fatalf("sent event of %d: %d %q", msgID, status, text)
		}
	}
	if got := s.message(t, v.ID); got.Status != domain.MessageDelivered {
		t.Fatalf("after the events again: %+v", got)
	}

	// A tap pushed by WeChat and reported by the page: one message, as
	// WeChat counts it. The third is refused by the server.
	s.sandboxPost(t, "/sandbox/subscribe", sandbox.SubscribeRequest{User: "alice", Templates: map[string]string{tmpl: "accept"}, URL: s.pushURL()}, &tap)
	subs, _, err = apiclient.New(s.base, nil).Subscribe(ctx, token, map[string]string{tmpl: "accept"})
	if err != nil || len(subs.Subscriptions) != 1 || subs.Subscriptions[0].Remaining != 1 {
		t.Fatalf("a tap pushed and reported: %+v %v, want 1 allowance", subs, err)
	}
	_, _, second := s.sendMessage(t, openID, tmpl, "order-2", "已出库")
	if second.ID == 0 {
		t.Fatal("the ledger refused the second message")
	}
	e, status, _ = s.sendMessage(t, openID, tmpl, "order-3", "已签收")
	if status != http.StatusForbidden || e.Code != 13 {
		t.Fatalf("a third message for two taps: %d %+v", status, e)
	}
	eventually(t, "the second delivered", func() bool { return s.message(t, second.ID).Status == domain.MessageDelivered })
	if st := s.sb.SubscribeStats(); st != (sandbox.SubscribeStats{Sent: 2}) {
		t.Fatalf("the sandbox saw %+v", st)
	}
	if n := s.sb.APICalls()["cgi-bin/message/subscribe/send"]; n != 2 {
		t.Fatalf("WeChat was asked %d times, want 2", n)
	}
}

// A media check's result for a trace_id no avatar waits for is recorded
// and answered success, not an error.
func TestE2E_PushOfAnUnknownTraceIDIsRecorded(t *testing.T) {
	s := startMessageServer(t, nil)
	if status, text := pushTo(t, s.base, mediaCheck("no-such-trace")); status != 200 || text != "success" {
		t.Fatalf("push: %d %q", status, text)
	}
	if j := eventState(t, s.cfg.DB, "no-such-trace"); j.ID == 0 {
		t.Fatal("the event was not stored")
	}
}

// Two servers on one database: every message is sent by exactly one of
// them (the sandbox sees each once).
func TestMessageFaults_TwoServersShareTheOutbox(t *testing.T) {
	for _, driver := range []string{"mysql", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			dsn := sqltest.Postgres
			if driver == "mysql" {
				dsn = sqltest.MySQL
			}
			db := serverDB(driver, dsn(t))
			path, key := writeMessagesKey(t)
			shared := newSharedSandbox(t)
			sb := shared.sb
			var servers []*msgServer
			for range 2 {
				cfg := config.Default()
				cfg.WeChat.AppID, cfg.WeChat.Secret, cfg.WeChat.BaseURL = appID, appSecret, shared.url
				cfg.DB = db
				withMessages(&cfg, path)
				var internal wiring.InternalServer
				s := launch(t, cfg, fx.Populate(&internal))
				s.sb = sb
				servers = append(servers, &msgServer{server: s, internal: "http://" + internal.Addr(), key: key})
			}
			st, err := sqlstore.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			const n = 40
			ids := make([]int64, n)
			for i := range n {
				openID := fmt.Sprintf("oTwo%s%02d", driver, i)
				if err := sb.Subscribe(openID, map[string]string{"tmpl": "accept"}); err != nil {
					t.Fatal(err)
				}
				grant(t, st.Consents, openID, "tmpl")
				e, status, v := servers[i%2].sendMessage(t, openID, "tmpl", fmt.Sprint("k", i), "two servers")
				if status != http.StatusAccepted {
					t.Fatalf("send %d: %d %+v", i, status, e)
				}
				ids[i] = v.ID
			}
			eventually(t, "every message sent", func() bool {
				for _, id := range ids {
					if servers[1].message(t, id).State == ports.JobPending {
						return false
					}
				}
				return true
			})
			for _, id := range ids {
				if v := servers[0].message(t, id); v.Status != domain.MessageSent || v.State != ports.JobDone || v.Attempts != 1 {
					t.Fatalf("message %d: %+v", id, v)
				}
			}
			if st := sb.SubscribeStats(); st != (sandbox.SubscribeStats{Sent: n}) {
				t.Fatalf("the sandbox saw %+v; want %d sent, no duplicate", st, n)
			}
		})
	}
}

// grant records an accept in the consent ledger directly, as the page's
// report would.
func grant(t testing.TB, c ports.Consents, openID, tmpl string) {
	t.Helper()
	k := domain.ConsentKey{AppID: appID, OpenID: openID, TemplateID: tmpl}
	if _, err := c.Credit(context.Background(), k, domain.FromClient, false, time.Now()); err != nil {
		t.Fatal(err)
	}
}
