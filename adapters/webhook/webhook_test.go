package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/webhook"
	"wxbackend/domain"
	"wxbackend/ports/portfake"
)

// verify is what a receiver does, written from the README's description
// rather than from the package's Sign.
func verify(secret string, r *http.Request, body []byte) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(r.Header.Get("X-WXB-Timestamp") + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(r.Header.Get("X-WXB-Signature")))
}

type receiver struct {
	mu     sync.Mutex
	status int
	got    []webhook.Delivery
	keys   []string
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !verify("hook-secret", r, body) {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var d webhook.Delivery
	if err := json.Unmarshal(body, &d); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.got = append(rc.got, d)
	rc.keys = append(rc.keys, r.Header.Get("Idempotency-Key"))
	w.WriteHeader(rc.status)
}

func event() domain.PushEvent {
	return domain.PushEvent{AppID: "wxa", Kind: "subscribe_msg_popup_event", DedupKey: "sha256:abc", FromUser: "oUser",
		CreateTime: 1700000000, Payload: json.RawMessage(`{"List":[{"TemplateId":"t1"}]}`), ReceivedAt: time.Unix(1700000001, 0)}
}

func newClient(t *testing.T, url, secret string, timeout time.Duration) *webhook.Client {
	t.Helper()
	c, err := webhook.New(webhook.Options{Timeout: timeout}, map[string]webhook.Target{"wxa": {URL: url, Secret: "hook-secret"}},
		portfake.NewClock(time.Unix(1700000002, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeliver_SignedJSONWithTheSameIdempotencyKeyEachTime(t *testing.T) {
	rc := &receiver{status: http.StatusNoContent}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	c := newClient(t, srv.URL+"/hook", "hook-secret", time.Second)
	for range 2 {
		if err := c.Deliver(context.Background(), 42, event()); err != nil {
			t.Fatal(err)
		}
	}
	if rc.bad != 0 || len(rc.got) != 2 || rc.keys[0] != rc.keys[1] || rc.keys[0] != event().IdempotencyKey() || rc.got[0].ID != rc.keys[0] {
		t.Fatalf("received %+v, keys %v, %d bad", rc.got, rc.keys, rc.bad)
	}
	d := rc.got[0]
	if d.InboxID != 42 || d.AppID != "wxa" || d.Event != "subscribe_msg_popup_event" || d.FromUser != "oUser" || string(d.Payload) != `{"List":[{"TemplateId":"t1"}]}` {
		t.Fatalf("received %+v", d)
	}
}

func TestDeliver_FailuresAreErrorsThatNameNoURL(t *testing.T) {
	release := make(chan struct{})
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"5xx", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }},
		{"4xx", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}},
	} {
		srv := httptest.NewServer(c.handler)
		cl := newClient(t, srv.URL+"/hook?token=s3cr3t", "hook-secret", 200*time.Millisecond)
		err := cl.Deliver(context.Background(), 1, event())
		if c.name == "timeout" {
			close(release)
		}
		srv.Close()
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	cl := newClient(t, "http://127.0.0.1:1/hook?token=s3cr3t", "hook-secret", time.Second)
	if err := cl.Deliver(context.Background(), 1, event()); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("no server: %v", err)
	}
	other := event()
	other.AppID = "wxnohook"
	if err := cl.Deliver(context.Background(), 1, other); domain.KindOf(err) != domain.KindInvalidInput {
		t.Errorf("an app without a webhook: %v", err)
	}
}

func TestNew_RefusesBadTargets(t *testing.T) {
	for _, tg := range []webhook.Target{{URL: "ftp://x/", Secret: "s"}, {URL: "/relative", Secret: "s"}, {URL: "https://x/"}} {
		if _, err := webhook.New(webhook.Options{Timeout: time.Second}, map[string]webhook.Target{"wxa": tg}, portfake.NewClock(time.Now())); err == nil {
			t.Errorf("%+v accepted", tg)
		}
	}
}
