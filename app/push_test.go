package app_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

const (
	pushAppID   = "wxpush00000000001"
	pushToken   = "push-token"
	pushKey     = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	pushPrevKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
	plainAppID  = "wxpush00000000002"
)

// pushWorld is the receiver and its worker on the memory inbox, a settable
// clock and a webhook that records what it is given.
type pushWorld struct {
	svc     *app.App
	inbox   *memory.Inbox
	clock   *portfake.Clock
	webhook *recordingWebhook
	counts  *countingObserver
}

func newPushWorld(t *testing.T) *pushWorld {
	t.Helper()
	clock := portfake.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	k, _ := domain.ParsePushKey(pushKey)
	prev, _ := domain.ParsePushKey(pushPrevKey)
	w := &pushWorld{inbox: memory.NewInbox(), clock: clock, webhook: &recordingWebhook{}, counts: &countingObserver{n: map[string]int{}}}
	var o app.Options
	o.SessionTTL = time.Hour
	o.Push = app.PushOptions{TimestampWindow: 5 * time.Minute, StoreTimeout: time.Second, Batch: 8, Lease: time.Minute,
		MaxAttempts: 30, BackoffBase: 10 * time.Second, BackoffMax: 10 * time.Minute, PollInterval: time.Second}
	svc, err := app.New(app.Deps{
		Sessions: memory.NewSessionStore(memory.Options{}, 0, 0, clock), Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(),
		Apps: []ports.WeChat{portfake.NewWeChat(pushAppID)}, Clock: clock, Tokens: &portfake.Tokens{},
		Inbox: w.inbox, Webhook: w.webhook, PushObserver: w.counts,
		PushApps: []app.PushApp{{AppID: pushAppID, Token: pushToken, Keys: []domain.PushKey{k, prev}}, {AppID: plainAppID, Token: pushToken}},
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	return w
}

// push sends msg as WeChat would, for appID in mode and format f.
func (w *pushWorld) push(t *testing.T, appID, aesKey string, mode sandbox.PushMode, f domain.PushFormat, msg []byte) (bool, error) {
	t.Helper()
	p, err := sandbox.NewPush(sandbox.PushApp{AppID: appID, Token: pushToken, EncodingAESKey: aesKey}, mode, f, msg, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return w.svc.ReceivePush.Handle(context.Background(), appID, queryOf(p.Query), p.Body, f)
}

func queryOf(q url.Values) app.PushQuery {
	return app.PushQuery{Signature: q.Get("signature"), Timestamp: q.Get("timestamp"), Nonce: q.Get("nonce"),
		EchoStr: q.Get("echostr"), EncryptType: q.Get("encrypt_type"), MsgSignature: q.Get("msg_signature")}
}

func event(user, name string, at time.Time) map[string]any {
	return map[string]any{"ToUserName": "gh_test", "FromUserName": user, "CreateTime": at.Unix(), "MsgType": "event", "Event": name}
}

func reasonOf(err error) string {
	var r *app.PushRefused
	if errors.As(err, &r) {
		return r.Reason
	}
	return "not refused: " + errString(err)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestReceivePush_EveryModeAndFormatIsStoredOnce(t *testing.T) {
	w := newPushWorld(t)
	for _, c := range []struct {
		appID, key string
		mode       sandbox.PushMode
		f          domain.PushFormat
	}{
		{plainAppID, "", sandbox.PushPlain, domain.PushXML},
		{plainAppID, "", sandbox.PushPlain, domain.PushJSON},
		{pushAppID, pushKey, sandbox.PushCompatible, domain.PushXML},
		{pushAppID, pushKey, sandbox.PushCompatible, domain.PushJSON},
		{pushAppID, pushKey, sandbox.PushSafe, domain.PushXML},
		{pushAppID, pushKey, sandbox.PushSafe, domain.PushJSON},
		{pushAppID, pushPrevKey, sandbox.PushSafe, domain.PushJSON}, // during a change of keys
	} {
		name := string(c.mode) + map[domain.PushFormat]string{domain.PushXML: "/xml", domain.PushJSON: "/json"}[c.f]
		ev := event("oUser", "subscribe_msg_popup_event", w.clock.Now())
		ev["Nonce"] = name + c.key // one event per case
		msg := sandbox.EventJSON(ev)
		if c.f == domain.PushXML {
			msg = sandbox.EventXML(ev)
		}
		if stored, err := w.push(t, c.appID, c.key, c.mode, c.f, msg); !stored || err != nil {
			t.Fatalf("%s: stored %v, %v", name, stored, err)
		}
		if stored, err := w.push(t, c.appID, c.key, c.mode, c.f, msg); stored || err != nil {
			t.Fatalf("%s: WeChat's retry stored %v, %v (want a duplicate, no error)", name, stored, err)
		}
		jobs, _ := w.inbox.List(context.Background(), ports.JobFilter{Limit: 1})
		if e := jobs[0].Item; e.Kind != "subscribe_msg_popup_event" || e.FromUser != "oUser" || strings.Contains(string(e.Payload), "Encrypt") {
			t.Fatalf("%s: stored %+v %s", name, e, e.Payload)
		}
	}
	if w.counts.get("received") != 7 || w.counts.get("duplicate") != 7 {
		t.Fatalf("counted %v", w.counts.n)
	}
}

func TestReceivePush_Refusals(t *testing.T) {
	w := newPushWorld(t)
	msg := sandbox.EventJSON(event("oUser", "x", w.clock.Now()))
	signed := func(mode sandbox.PushMode, appID, key string) sandbox.Push {
		p, err := sandbox.NewPush(sandbox.PushApp{AppID: appID, Token: pushToken, EncodingAESKey: key}, mode, domain.PushJSON, msg, w.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	otherKey := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
	for _, c := range []struct {
		name, appID string
		p           sandbox.Push
		change      func(*app.PushQuery, *[]byte)
		reason      string
	}{
		{"unknown app", "wxnobody", signed(sandbox.PushSafe, pushAppID, pushKey), nil, app.PushRefusedApp},
		{"wrong msg_signature", pushAppID, signed(sandbox.PushSafe, pushAppID, pushKey),
			func(q *app.PushQuery, _ *[]byte) { q.MsgSignature = strings.Repeat("0", 40) }, app.PushRefusedSignature},
		{"safe mode with signature alone", pushAppID, signed(sandbox.PushSafe, pushAppID, pushKey),
			func(q *app.PushQuery, _ *[]byte) { q.MsgSignature = "" }, app.PushRefusedSignature},
		{"a key no one configured", pushAppID, signed(sandbox.PushSafe, pushAppID, otherKey), nil, app.PushRefusedUndecryptable},
		{"another app's message", pushAppID, signed(sandbox.PushSafe, plainAppID, pushKey), nil, app.PushRefusedAppID},
		{"plain mode for an app with a key", pushAppID, signed(sandbox.PushPlain, pushAppID, ""), nil, app.PushRefusedPlain},
		{"wrong plain signature", plainAppID, signed(sandbox.PushPlain, plainAppID, ""),
			func(q *app.PushQuery, _ *[]byte) { q.Signature = strings.Repeat("0", 40) }, app.PushRefusedSignature},
		{"timestamp not a number", plainAppID, signed(sandbox.PushPlain, plainAppID, ""),
			func(q *app.PushQuery, _ *[]byte) { q.Timestamp = "soon" }, app.PushRefusedMalformed},
		{"not JSON", plainAppID, signed(sandbox.PushPlain, plainAppID, ""),
			func(_ *app.PushQuery, b *[]byte) { *b = []byte("<xml/>") }, app.PushRefusedMalformed},
		{"stale", plainAppID, signed(sandbox.PushPlain, plainAppID, ""),
			func(*app.PushQuery, *[]byte) { w.clock.Advance(6 * time.Minute) }, app.PushRefusedStale},
	} {
		q, body := queryOf(c.p.Query), c.p.Body
		if c.change != nil {
			c.change(&q, &body)
		}
		_, err := w.svc.ReceivePush.Handle(context.Background(), c.appID, q, body, domain.PushJSON)
		if got := reasonOf(err); got != c.reason {
			t.Errorf("%s: %s, want %s", c.name, got, c.reason)
		}
	}
	if jobs, _ := w.inbox.List(context.Background(), ports.JobFilter{}); len(jobs) != 0 {
		t.Fatalf("refused pushes stored: %d", len(jobs))
	}
	if w.counts.get("refused:signature") != 3 || w.counts.get("refused:app") != 1 || w.counts.get("unlabelled") != 1 {
		t.Fatalf("counted %v", w.counts.n)
	}
}

func TestReceivePush_VerifiesTheURL(t *testing.T) {
	w := newPushWorld(t)
	q, _, err := sandbox.VerifyQuery(sandbox.PushApp{AppID: pushAppID, Token: pushToken}, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.ReceivePush.Verify(pushAppID, queryOf(q)); err != nil {
		t.Fatal(err)
	}
	bad := queryOf(q)
	bad.Nonce += "x"
	if got := reasonOf(w.svc.ReceivePush.Verify(pushAppID, bad)); got != app.PushRefusedSignature {
		t.Fatalf("a wrong signature: %s", got)
	}
}

// TestReceivePush_SlowInboxIsAnErrorNotSuccess: an inbox that does not
// answer within the store timeout makes the push an error (WeChat retries),
// in bounded time.
func TestReceivePush_SlowInboxIsAnErrorNotSuccess(t *testing.T) {
	w := newPushWorld(t)
	slow := &stallingInbox{Inbox: memory.NewInbox()}
	var o app.Options
	o.SessionTTL = time.Hour
	o.Push = app.PushOptions{TimestampWindow: 5 * time.Minute, StoreTimeout: 50 * time.Millisecond}
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{}, 0, 0, w.clock), Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(),
		Apps: []ports.WeChat{portfake.NewWeChat(pushAppID)}, Clock: w.clock, Tokens: &portfake.Tokens{}, Inbox: slow,
		PushApps: []app.PushApp{{AppID: plainAppID, Token: pushToken}}}, o)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := sandbox.NewPush(sandbox.PushApp{AppID: plainAppID, Token: pushToken}, sandbox.PushPlain, domain.PushJSON,
		sandbox.EventJSON(event("oUser", "x", w.clock.Now())), w.clock.Now())
	start := time.Now()
	stored, err := svc.ReceivePush.Handle(context.Background(), plainAppID, queryOf(p.Query), p.Body, domain.PushJSON)
	if stored || reasonOf(err) != app.PushRefusedUnavailable {
		t.Fatalf("stored %v, %v; want unavailable", stored, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("answered after %v", d)
	}
}

// stallingInbox's Store waits for its context to end.
type stallingInbox struct{ ports.Inbox }

func (s *stallingInbox) Store(ctx context.Context, _ domain.PushEvent) (bool, error) {
	<-ctx.Done()
	return false, domain.Wrap(domain.KindUnavailable, ctx.Err())
}

// recordingWebhook records deliveries; while down it fails them.
type recordingWebhook struct {
	mu        sync.Mutex
	down      bool
	delivered []domain.PushEvent
	attempts  int
}

func (h *recordingWebhook) Deliver(_ context.Context, _ int64, e domain.PushEvent) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.attempts++
	if h.down {
		return errors.New("webhook: 503")
	}
	h.delivered = append(h.delivered, e)
	return nil
}

func (h *recordingWebhook) setDown(down bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = down
}

func (h *recordingWebhook) got() []domain.PushEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]domain.PushEvent(nil), h.delivered...)
}

// countingObserver counts what the receiver and the worker report.
type countingObserver struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingObserver) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[k]++
}

func (c *countingObserver) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *countingObserver) Received(_ string, dup bool) {
	if dup {
		c.add("duplicate")
	} else {
		c.add("received")
	}
}
func (c *countingObserver) Refused(appID, reason string) {
	c.add("refused:" + reason)
	if appID == "" {
		c.add("unlabelled")
	}
}
func (c *countingObserver) Delivery(_, result string) { c.add("delivery:" + result) }
