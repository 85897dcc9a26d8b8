package app_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/wechat"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

const (
	msgAppID  = "wxmsg000000000001"
	msgSecret = "msg-secret"
	sendPath  = "cgi-bin/message/subscribe/send"
)

// messageWorld is Messages on the memory outbox and ledger, speaking to
// the sandbox through the real WeChat client, with a worker on a settable
// clock.
type messageWorld struct {
	svc      *app.App
	sandbox  *sandbox.Sandbox
	outbox   *memory.Outbox
	consents *memory.Consents
	users    *portfake.Users
	clock    *portfake.Clock
	worker   *app.Worker[domain.Message]
}

// newMessageWorld builds the world; each of set adjusts the use cases'
// dependencies.
func newMessageWorld(t *testing.T, timeout time.Duration, set ...func(*app.Deps)) *messageWorld {
	t.Helper()
	w := &messageWorld{sandbox: sandbox.New(sandbox.Options{AppID: msgAppID, AppSecret: msgSecret}),
		outbox: memory.NewOutbox(), consents: memory.NewConsents(), users: portfake.NewUsers(),
		clock: portfake.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))}
	srv := httptest.NewServer(w.sandbox.Handler())
	t.Cleanup(srv.Close)
	wc, err := wechat.NewClient(wechat.Options{AppID: msgAppID, Secret: msgSecret, BaseURL: srv.URL, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wc.Close)
	deps := app.Deps{
		Sessions: memory.NewSessionStore(memory.Options{}, 0, 0, w.clock), Users: w.users, Decrypter: aescbc.NewDecrypter(),
		Apps: []ports.WeChat{wc}, Clock: w.clock, Tokens: &portfake.Tokens{}, AccessTokens: memory.NewTokenCache(w.clock),
		Consents: w.consents, Outbox: w.outbox,
	}
	for _, f := range set {
		f(&deps)
	}
	// WeChat's console knows the app's long-term templates too.
	w.sandbox.SetLongTerm(deps.LongTermTemplates[msgAppID]...)
	svc, err := app.New(deps, app.Options{SessionTTL: time.Hour, ForceRefreshPerDay: 5})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = svc
	// The handler's deadline is the lease's less a margin (at least half
	// of it): a short timeout gets a short lease, so a hanging WeChat is
	// given up on soon.
	lease := time.Minute
	if timeout < time.Second {
		lease = 2 * timeout
	}
	p := app.WorkerPolicy{Batch: 4, Lease: lease, MaxAttempts: 10, BackoffBase: 10 * time.Second, BackoffMax: time.Minute, PollInterval: time.Second}
	if w.worker, err = app.NewWorker[domain.Message](w.outbox, svc.Messages.Handle, w.clock, p, "w1", nil, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *messageWorld) accept(t *testing.T, user, tmpl string) {
	t.Helper()
	if _, err := w.svc.Subscriptions.Record(context.Background(), domain.Session{AppID: msgAppID, OpenID: user},
		map[string]string{tmpl: domain.SubscribeAccept}); err != nil {
		t.Fatal(err)
	}
	// The same tap, as WeChat records it: the sandbox enforces consent too.
	if err := w.sandbox.Subscribe(user, map[string]string{tmpl: domain.SubscribeAccept}); err != nil {
		t.Fatal(err)
	}
}

func (w *messageWorld) consent(t *testing.T, user, tmpl string) domain.Consent {
	t.Helper()
	c, _ := w.consents.Get(context.Background(), domain.ConsentKey{AppID: msgAppID, OpenID: user, TemplateID: tmpl})
	return c
}

func (w *messageWorld) send(t *testing.T, user, key string) (ports.Job[domain.Message], bool, error) {
	t.Helper()
	return w.svc.Messages.Send(context.Background(), app.SendInput{OpenID: user, TemplateID: "tmpl", Page: "pages/index",
		Data: map[string]string{"thing1": "您的订单已发货", "number2": "2"}, IdempotencyKey: key})
}

// runDue runs the worker until nothing is due now.
func (w *messageWorld) runDue(t *testing.T) {
	t.Helper()
	for i := 0; i < 20; i++ {
		n, err := w.worker.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the worker never ran out of due jobs")
}

func (w *messageWorld) get(t *testing.T, id int64) ports.Job[domain.Message] {
	t.Helper()
	j, err := w.svc.Messages.Get(context.Background(), "", id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestMessages_NoConsentIsRefusedBeforeAnythingIsStored(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	if _, _, err := w.send(t, "oNobody", "k1"); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("no consent: %v", err)
	}
	if jobs, _ := w.outbox.List(context.Background(), ports.JobFilter{}); len(jobs) != 0 {
		t.Fatalf("stored %d messages", len(jobs))
	}
	// Bad data: refused before the ledger is touched.
	w.accept(t, "oBad", "tmpl")
	_, _, err := w.svc.Messages.Send(context.Background(), app.SendInput{OpenID: "oBad", TemplateID: "tmpl",
		Data: map[string]string{"thing1": "这是一条远远超过二十个字符限制的很长很长的消息内容"}})
	if domain.KindOf(err) != domain.KindInvalidInput {
		t.Fatalf("bad data: %v", err)
	}
	if c := w.consent(t, "oBad", "tmpl"); c.Remaining != 1 {
		t.Fatalf("bad data spent the allowance: %+v", c)
	}
}

func TestMessages_SentOnceWithItsMsgIDAndDeliveredByTheSentEvent(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	w.accept(t, "oUser", "tmpl")
	j, added, err := w.send(t, "oUser", "order-42")
	if err != nil || !added || j.Item.Status != domain.MessageQueued {
		t.Fatalf("send: %+v %v %v", j, added, err)
	}
	// The same key again: the first message, nothing spent or stored.
	again, added, err := w.send(t, "oUser", "order-42")
	if err != nil || added || again.ID != j.ID {
		t.Fatalf("the same key again: %+v %v %v", again, added, err)
	}
	if c := w.consent(t, "oUser", "tmpl"); c.Remaining != 0 {
		t.Fatalf("allowance after one message: %+v", c)
	}
	// A second message without a second accept: refused.
	if _, _, err := w.send(t, "oUser", "order-43"); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("a second message on one accept: %v", err)
	}
	w.runDue(t)
	got := w.get(t, j.ID)
	if got.State != ports.JobDone || got.Item.Status != domain.MessageSent || got.Item.MsgID == 0 {
		t.Fatalf("after the worker: %+v", got)
	}
	if n := w.sandbox.APICalls()[sendPath]; n != 1 {
		t.Fatalf("WeChat saw %d sends", n)
	}
	// WeChat's sent event, then one for a message no one knows.
	for _, msgID := range []int64{got.Item.MsgID, 987654321987654321} {
		e := domain.PushEvent{AppID: msgAppID, Kind: domain.PushSubscribeSent, FromUser: "oUser",
			Payload: []byte(`{"List":[{"TemplateId":"tmpl","MsgID":` + strconv.FormatInt(msgID, 10) + `,"ErrorCode":0,"ErrorStatus":"success"}]}`)}
		if err := w.svc.Messages.Reconcile(context.Background(), e); err != nil {
			t.Fatalf("reconcile %d: %v", msgID, err)
		}
	}
	if got := w.get(t, j.ID); got.Item.Status != domain.MessageDelivered {
		t.Fatalf("after the sent event: %+v", got.Item)
	}
}

func TestMessages_BusyWeChatIsRetriedUntilItRecovers(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	w.accept(t, "oUser", "tmpl")
	w.sandbox.InjectAPIFault(sendPath, sandbox.Fault{Errcode: -1, Times: 3})
	j, _, err := w.send(t, "oUser", "k")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10 && w.get(t, j.ID).State == ports.JobPending; i++ {
		w.runDue(t)
		w.clock.Advance(2 * time.Minute) // past any backoff
	}
	got := w.get(t, j.ID)
	if got.State != ports.JobDone || got.Item.Status != domain.MessageSent || got.Attempts != 4 {
		t.Fatalf("after WeChat recovered: %+v", got)
	}
}

func TestMessages_FinalErrcodes(t *testing.T) {
	for _, c := range []struct {
		errcode  int
		restored bool // the allowance is given back
	}{{47003, true}, {40003, true}, {40037, true}, {41030, true}, {43101, false}} {
		w := newMessageWorld(t, 5*time.Second)
		w.accept(t, "oUser", "tmpl")
		w.accept(t, "oUser", "tmpl")
		w.sandbox.InjectAPIFault(sendPath, sandbox.Fault{Errcode: c.errcode})
		j, _, err := w.send(t, "oUser", "k")
		if err != nil {
			t.Fatal(err)
		}
		w.runDue(t)
		got := w.get(t, j.ID)
		if got.State != ports.JobDead || got.Item.Status != domain.MessageFailed || got.Item.ErrCode != c.errcode || got.Attempts != 1 {
			t.Errorf("%d: %+v", c.errcode, got)
		}
		want := 2
		if !c.restored {
			want = 0 // 43101: WeChat says no consent, whatever the ledger believed
		}
		if cons := w.consent(t, "oUser", "tmpl"); cons.Remaining != want {
			t.Errorf("%d: %d allowances left, want %d", c.errcode, cons.Remaining, want)
		}
	}
}

// raceOutbox runs before just as the outbox is to store a message's
// outcome "sent": between WeChat's answer and the msgid stored.
type raceOutbox struct {
	*memory.Outbox
	before func(domain.MessageOutcome)
}

func (r *raceOutbox) SetOutcome(ctx context.Context, id int64, o domain.MessageOutcome) error {
	if o.Status == domain.MessageSent && r.before != nil {
		r.before(o)
	}
	return r.Outbox.SetOutcome(ctx, id, o)
}

// unmatchedCounter counts MessageObserver.Unmatched.
type unmatchedCounter struct {
	mu sync.Mutex
	n  int
}

func (*unmatchedCounter) Queued(string)               {}
func (*unmatchedCounter) Attempt(string, string, int) {}
func (c *unmatchedCounter) Unmatched(string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
}

func (c *unmatchedCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// WeChat may push subscribe_msg_sent_event before the outbox worker has
// stored the msgid of the send: the push worker tries the event again, and
// matches it once the msgid is stored. A msgid no message ever has is
// tried for SentEventWait, then counted unmatched.
func TestMessages_ASentEventBeforeItsMsgIDIsStoredIsMatchedOnceItIs(t *testing.T) {
	ctx := context.Background()
	inbox := memory.NewInbox()
	race := &raceOutbox{}
	observe := &unmatchedCounter{}
	w := newMessageWorld(t, 5*time.Second, func(d *app.Deps) {
		race.Outbox = d.Outbox.(*memory.Outbox)
		d.Outbox, d.MessageObserver = race, observe
		d.Inbox, d.PushApps = inbox, []app.PushApp{{AppID: msgAppID, Token: "push-token"}}
	})
	p := app.WorkerPolicy{Batch: 4, Lease: time.Minute, MaxAttempts: 10, BackoffBase: 10 * time.Second, BackoffMax: 30 * time.Second, PollInterval: time.Second}
	pushWorker, err := app.NewWorker[domain.PushEvent](inbox, w.svc.DeliverPush.Handle, w.clock, p, "p1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// store stores WeChat's sent event of msgID, as the receiver does
	// (whose own Reconcile finds no message either), and runs the push
	// worker on it: it returns the event's job.
	store := func(msgID int64) ports.Job[domain.PushEvent] {
		t.Helper()
		e := domain.PushEvent{AppID: msgAppID, Kind: domain.PushSubscribeSent, FromUser: "oUser", ReceivedAt: w.clock.Now(),
			DedupKey: "sent:" + strconv.FormatInt(msgID, 10),
			Payload:  []byte(`{"List":[{"TemplateId":"tmpl","MsgID":` + strconv.FormatInt(msgID, 10) + `,"ErrorCode":0,"ErrorStatus":"success"}]}`)}
		if stored, err := inbox.Store(ctx, e); err != nil || !stored {
			t.Fatalf("store: %v %v", stored, err)
		}
		if err := w.svc.Messages.Reconcile(ctx, e); err != nil {
			t.Fatal(err)
		}
		if n, err := pushWorker.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("push worker: %d %v", n, err)
		}
		jobs, err := inbox.List(ctx, ports.JobFilter{Limit: 1})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("inbox: %v %v", jobs, err)
		}
		return jobs[0]
	}
	event := func(id int64) ports.Job[domain.PushEvent] {
		t.Helper()
		j, err := inbox.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	var early ports.Job[domain.PushEvent]
	race.before = func(o domain.MessageOutcome) {
		race.before = nil
		early = store(o.MsgID)
	}

	w.accept(t, "oUser", "tmpl")
	j, _, err := w.send(t, "oUser", "order-1")
	if err != nil {
		t.Fatal(err)
	}
	w.runDue(t)
	got := w.get(t, j.ID)
	if got.Item.Status != domain.MessageSent || early.ID == 0 {
		t.Fatalf("after the send: %+v; the event came first: %+v", got.Item, early)
	}
	if e := event(early.ID); e.State != ports.JobPending || e.Attempts != 1 {
		t.Fatalf("the early event: %+v, want tried again", e)
	}
	w.clock.Advance(p.BackoffMax)
	if n, err := pushWorker.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("push worker: %d %v", n, err)
	}
	if got := w.get(t, j.ID); got.Item.Status != domain.MessageDelivered {
		t.Fatalf("after the event tried again: %+v", got.Item)
	}
	if e := event(early.ID); e.State != ports.JobDone || observe.get() != 0 {
		t.Fatalf("the early event: %+v, %d unmatched", e, observe.get())
	}

	// A msgid of no message: tried again while it may be stored, then
	// recorded as unmatched.
	other := store(got.Item.MsgID + 2)
	if e := event(other.ID); e.State != ports.JobPending || observe.get() != 0 {
		t.Fatalf("an unknown msgid at once: %+v, %d unmatched", e, observe.get())
	}
	w.clock.Advance(app.SentEventWait)
	if n, err := pushWorker.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("push worker: %d %v", n, err)
	}
	if e := event(other.ID); e.State != ports.JobDone || observe.get() != 1 {
		t.Fatalf("an unknown msgid after the wait: %+v, %d unmatched", e, observe.get())
	}
	if got := w.get(t, j.ID); got.Item.Status != domain.MessageDelivered {
		t.Fatalf("the message after: %+v", got.Item)
	}
}

// A key that already names a different message is refused, rather than
// answered with the first message as if the new one were accepted.
func TestMessages_AKeyReusedForAnotherMessageIsRefused(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	w.accept(t, "oUser", "tmpl")
	w.accept(t, "oUser", "tmpl")
	first, _, err := w.send(t, "oUser", "order-42")
	if err != nil {
		t.Fatal(err)
	}
	other := app.SendInput{OpenID: "oUser", TemplateID: "tmpl", Page: "pages/index",
		Data: map[string]string{"thing1": "another text", "number2": "2"}, IdempotencyKey: "order-42"}
	_, added, err := w.svc.Messages.Send(context.Background(), other)
	if added || domain.KindOf(err) != domain.KindInvalidInput || !strings.Contains(err.Error(), fmt.Sprint("message ", first.ID)) {
		t.Fatalf("a reused key: added %v, %v", added, err)
	}
	// Nothing spent: the second accept still allows one message.
	if c := w.consent(t, "oUser", "tmpl"); c.Remaining != 1 {
		t.Fatalf("allowance after the refusal: %+v", c)
	}
}
