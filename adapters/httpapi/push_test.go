package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/httpapi/openapitest"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

const (
	pushToken = "push-token"
	pushKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// pushServer is the router, receiving pushes for appID in safe mode into
// inbox, on a server whose every answer is checked against the OpenAPI
// document.
type pushServer struct {
	url   string
	inbox ports.Inbox
	c     *http.Client
	check *openapitest.Transport
	clock *portfake.Clock
}

func newPushServer(t *testing.T, inbox ports.Inbox, storeTimeout time.Duration) *pushServer {
	t.Helper()
	clock := portfake.NewClock(time.Now())
	k, _ := domain.ParsePushKey(pushKey)
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, clock),
		Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{portfake.NewWeChat(appID)},
		Clock: clock, Tokens: &portfake.Tokens{}, Inbox: inbox,
		PushApps: []app.PushApp{{AppID: appID, Token: pushToken, Keys: []domain.PushKey{k}}}},
		app.Options{SessionTTL: time.Hour, Push: app.PushOptions{TimestampWindow: 5 * time.Minute, StoreTimeout: storeTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	h := newRouterWith(t, svc, slog.New(slog.DiscardHandler), httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		AvatarMaxBytes: 256 << 10}, clock, httpapi.Limits{})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	check := &openapitest.Transport{}
	t.Cleanup(func() {
		if failures, _ := check.Failures(); len(failures) > 0 {
			t.Errorf("answers the OpenAPI document does not allow:\n%s", strings.Join(failures, "\n"))
		}
	})
	return &pushServer{url: srv.URL, inbox: inbox, c: &http.Client{Transport: check}, check: check, clock: clock}
}

func (s *pushServer) send(t *testing.T, mode sandbox.PushMode, f domain.PushFormat, msg []byte) (int, string) {
	t.Helper()
	p, err := sandbox.NewPush(sandbox.PushApp{AppID: appID, Token: pushToken, EncodingAESKey: pushKey}, mode, f, msg, s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	status, text, err := p.Send(context.Background(), s.c, s.url+"/wechat/push/"+appID)
	if err != nil {
		t.Fatal(err)
	}
	return status, text
}

func pushEvent(seq string) map[string]any {
	return map[string]any{"ToUserName": "gh_1", "FromUserName": "oUser", "CreateTime": 1700000000, "MsgType": "event",
		"Event": "wxa_media_check", "trace_id": "trace-" + seq, "version": 2,
		"result": map[string]any{"suggest": "pass", "label": "100"}}
}

func TestPush_SafeModeXMLAndJSONAreStoredAndAnsweredSuccess(t *testing.T) {
	s := newPushServer(t, memory.NewInbox(), time.Second)
	for i, f := range []domain.PushFormat{domain.PushXML, domain.PushJSON} {
		ev := pushEvent(string(rune('a' + i)))
		msg := sandbox.EventJSON(ev)
		if f == domain.PushXML {
			msg = sandbox.EventXML(ev)
		}
		for range 2 { // WeChat's retry is a duplicate, also success
			if status, text := s.send(t, sandbox.PushSafe, f, msg); status != 200 || text != "success" {
				t.Fatalf("answered %d %q", status, text)
			}
		}
	}
	jobs, _ := s.inbox.List(context.Background(), ports.JobFilter{})
	if len(jobs) != 2 || jobs[0].Item.DedupKey != "trace:trace-b" || jobs[1].Item.DedupKey != "trace:trace-a" {
		t.Fatalf("stored %+v", jobs)
	}
}

func TestPush_RefusalsArePlainText4xxAndStoreNothing(t *testing.T) {
	s := newPushServer(t, memory.NewInbox(), time.Second)
	status, text := s.send(t, sandbox.PushPlain, domain.PushJSON, sandbox.EventJSON(pushEvent("x")))
	if status != http.StatusForbidden || text != "refused: plain" {
		t.Fatalf("plain mode for an app with a key: %d %q", status, text)
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/wechat/push/" + appID + "?timestamp=1&nonce=1&signature=x&encrypt_type=aes&msg_signature=x", http.StatusForbidden},
		{"/wechat/push/wxnobody?timestamp=1&nonce=1", http.StatusNotFound},
	} {
		resp, err := s.c.Post(s.url+c.path, "text/xml", strings.NewReader("<xml><Encrypt>x</Encrypt></xml>"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.HasPrefix(string(b), "refused: ") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q", c.path, resp.StatusCode, b)
		}
	}
	resp, err := s.c.Post(s.url+"/wechat/push/"+appID+"?timestamp=1&nonce=1", "text/xml", strings.NewReader(strings.Repeat("x", 300<<10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a large body: %d", resp.StatusCode)
	}
	if jobs, _ := s.inbox.List(context.Background(), ports.JobFilter{}); len(jobs) != 0 {
		t.Fatalf("stored %d", len(jobs))
	}
}

func TestPush_VerificationEchoesEchostrAsSent(t *testing.T) {
	s := newPushServer(t, memory.NewInbox(), time.Second)
	q, echo, err := sandbox.VerifyQuery(sandbox.PushApp{AppID: appID, Token: pushToken}, s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	get := func(query string) (int, string) {
		resp, err := s.c.Get(s.url + "/wechat/push/" + appID + "?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, text := get(q.Encode()); status != 200 || text != echo {
		t.Fatalf("verification: %d %q, want %q", status, text, echo)
	}
	q.Set("signature", strings.Repeat("0", 40))
	if status, text := get(q.Encode()); status != http.StatusForbidden || text == echo {
		t.Fatalf("a wrong signature: %d %q", status, text)
	}
}

// TestPush_SlowDatabaseIsA503WithinWeChatsFiveSeconds: a store that does not
// answer makes the answer an error WeChat retries, before WeChat gives up.
func TestPush_SlowDatabaseIsA503WithinWeChatsFiveSeconds(t *testing.T) {
	s := newPushServer(t, stallingInbox{memory.NewInbox()}, 100*time.Millisecond)
	start := time.Now()
	status, text := s.send(t, sandbox.PushSafe, domain.PushJSON, sandbox.EventJSON(pushEvent("slow")))
	if status != http.StatusServiceUnavailable || text == "success" {
		t.Fatalf("answered %d %q", status, text)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answered after %v", d)
	}
}

// stallingInbox's Store waits for its context to end.
type stallingInbox struct{ ports.Inbox }

func (stallingInbox) Store(ctx context.Context, _ domain.PushEvent) (bool, error) {
	<-ctx.Done()
	return false, domain.Wrap(domain.KindUnavailable, ctx.Err())
}
