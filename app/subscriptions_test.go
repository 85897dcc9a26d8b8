package app_test

import (
	"context"
	"errors"
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

// subscribeWorld is the push world with a consent ledger: its receiver
// hands the subscribe events it stores to Subscriptions.
type subscribeWorld struct {
	*pushWorld
	consents ports.Consents
}

func newSubscribeWorld(t *testing.T, consents ports.Consents, inbox *memory.Inbox) *subscribeWorld {
	t.Helper()
	clock := portfake.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	var o app.Options
	o.SessionTTL = time.Hour
	o.Push = app.PushOptions{TimestampWindow: 5 * time.Minute, StoreTimeout: time.Second, Batch: 8, Lease: time.Minute,
		MaxAttempts: 30, BackoffBase: 10 * time.Second, BackoffMax: 10 * time.Minute, PollInterval: time.Second}
	svc, err := app.New(app.Deps{
		Sessions: memory.NewSessionStore(memory.Options{}, 0, 0, clock), Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(),
		Apps: []ports.WeChat{portfake.NewWeChat(plainAppID)}, Clock: clock, Tokens: &portfake.Tokens{},
		Inbox: inbox, PushApps: []app.PushApp{{AppID: plainAppID, Token: pushToken}},
		Consents: consents, LongTermTemplates: map[string][]string{plainAppID: {"long"}},
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	return &subscribeWorld{pushWorld: &pushWorld{svc: svc, inbox: inbox, clock: clock}, consents: consents}
}

func (w *subscribeWorld) consent(t *testing.T, user, tmpl string) domain.Consent {
	t.Helper()
	c, err := w.svc.Subscriptions.Get(context.Background(), plainAppID, user, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubscriptions_ClientReportsAreCheckedThenRecorded(t *testing.T) {
	w := newSubscribeWorld(t, memory.NewConsents(), memory.NewInbox())
	sess := domain.Session{AppID: plainAppID, OpenID: "oUser"}
	ctx := context.Background()
	got, err := w.svc.Subscriptions.Record(ctx, sess, map[string]string{"t1": "accept", "t2": "reject", "long": "accept"})
	if err != nil || len(got) != 3 {
		t.Fatalf("record: %+v %v", got, err)
	}
	if got[0].TemplateID != "long" || !got[0].LongTerm || !got[1].Allows() || got[1].Remaining != 1 || got[2].Allows() {
		t.Fatalf("recorded %+v", got)
	}
	// One bad answer: nothing recorded, not even the good ones.
	for _, bad := range []map[string]string{{}, {"t1": "accept", "t3": "maybe"}, {"": "accept"}} {
		if _, err := w.svc.Subscriptions.Record(ctx, sess, bad); domain.KindOf(err) != domain.KindInvalidInput {
			t.Errorf("%v: %v", bad, err)
		}
	}
	if c := w.consent(t, "oUser", "t1"); c.Remaining != 1 {
		t.Fatalf("a refused report changed the ledger: %+v", c)
	}
	many := map[string]string{}
	for i := 0; i <= app.MaxSubscribeAnswers; i++ {
		many[string(rune('a'+i))] = "accept"
	}
	if _, err := w.svc.Subscriptions.Record(ctx, sess, many); domain.KindOf(err) != domain.KindInvalidInput {
		t.Errorf("%d answers: %v", len(many), err)
	}
}

func TestSubscriptions_PushedEventsUpdateTheLedgerOnce(t *testing.T) {
	w := newSubscribeWorld(t, memory.NewConsents(), memory.NewInbox())
	popup := event("oUser", domain.PushSubscribePopup, w.clock.Now())
	popup["SubscribeMsgPopupEvent"] = map[string]any{"List": []map[string]any{
		{"TemplateId": "t1", "SubscribeStatusString": "accept", "PopupScene": "0"},
		{"TemplateId": "long", "SubscribeStatusString": "accept", "PopupScene": "0"}}}
	msg := sandbox.EventXML(popup)
	for i := 0; i < 2; i++ { // WeChat's retry is the same acceptance
		if _, err := w.push(t, plainAppID, "", sandbox.PushPlain, domain.PushXML, msg); err != nil {
			t.Fatal(err)
		}
	}
	if c := w.consent(t, "oUser", "t1"); !c.Allows() || c.Remaining != 1 {
		t.Fatalf("after a popup pushed twice: %+v", c)
	}
	if c := w.consent(t, "oUser", "long"); !c.Allows() || !c.LongTerm {
		t.Fatalf("long-term after a popup: %+v", c)
	}
	// The client reports the same popup: still one message.
	if _, err := w.svc.Subscriptions.Record(context.Background(), domain.Session{AppID: plainAppID, OpenID: "oUser"},
		map[string]string{"t1": "accept"}); err != nil {
		t.Fatal(err)
	}
	if c := w.consent(t, "oUser", "t1"); c.Remaining != 1 || c.Unpaired != 0 {
		// The report is the pushed tap's echo: the same tap.
		t.Fatalf("after the client's report: %+v", c)
	}
	// Another tap, reported by the client first, then pushed: two.
	w.clock.Advance(time.Minute)
	if _, err := w.svc.Subscriptions.Record(context.Background(), domain.Session{AppID: plainAppID, OpenID: "oUser"},
		map[string]string{"t1": "accept"}); err != nil {
		t.Fatal(err)
	}
	again := event("oUser", domain.PushSubscribePopup, w.clock.Now())
	again["SubscribeMsgPopupEvent"] = map[string]any{"List": []map[string]any{{"TemplateId": "t1", "SubscribeStatusString": "accept", "PopupScene": "0"}}}
	if _, err := w.push(t, plainAppID, "", sandbox.PushPlain, domain.PushXML, sandbox.EventXML(again)); err != nil {
		t.Fatal(err)
	}
	if c := w.consent(t, "oUser", "t1"); c.Remaining != 2 || c.Unpaired != 0 {
		t.Fatalf("after a second tap told both ways: %+v", c)
	}
	// The settings page turns the long-term template off.
	change := event("oUser", domain.PushSubscribeChange, w.clock.Now())
	change["List"] = map[string]any{"TemplateId": "long", "SubscribeStatusString": "reject"}
	if _, err := w.push(t, plainAppID, "", sandbox.PushPlain, domain.PushJSON, sandbox.EventJSON(change)); err != nil {
		t.Fatal(err)
	}
	if c := w.consent(t, "oUser", "long"); c.Allows() {
		t.Fatalf("long-term after it was turned off: %+v", c)
	}
}

// failingConsents is a ledger whose database is away.
type failingConsents struct{ ports.Consents }

func (failingConsents) Update(context.Context, domain.ConsentKey, func(domain.Consent) (domain.Consent, error)) (domain.Consent, error) {
	return domain.Consent{}, domain.Wrap(domain.KindUnavailable, errors.New("ledger away"))
}

func (failingConsents) Credit(context.Context, domain.ConsentKey, domain.ConsentSource, bool, time.Time) (domain.Consent, error) {
	return domain.Consent{}, domain.Wrap(domain.KindUnavailable, errors.New("ledger away"))
}

func TestSubscriptions_ALedgerAwayIsAnErrorSoWeChatRetries(t *testing.T) {
	inbox := memory.NewInbox()
	w := newSubscribeWorld(t, failingConsents{memory.NewConsents()}, inbox)
	popup := event("oUser", domain.PushSubscribePopup, w.clock.Now())
	popup["List"] = []map[string]any{{"TemplateId": "t1", "SubscribeStatusString": "accept"}, {"TemplateId": "t2", "SubscribeStatusString": "reject"}}
	msg := sandbox.EventJSON(popup)
	if _, err := w.push(t, plainAppID, "", sandbox.PushPlain, domain.PushJSON, msg); reasonOf(err) != app.PushRefusedUnavailable {
		t.Fatalf("ledger away: %v", err)
	}
	// WeChat's retry, once the ledger is back, applies the reject again
	// (the event is stored already: a duplicate); its accept is not
	// credited twice: the first try may have counted it. The client's
	// report of the tap counts it.
	back := newSubscribeWorld(t, memory.NewConsents(), inbox)
	ctx := context.Background()
	if _, err := back.svc.Subscriptions.Record(ctx, domain.Session{AppID: plainAppID, OpenID: "oUser"}, map[string]string{"t2": "accept"}); err != nil {
		t.Fatal(err)
	}
	if stored, err := back.push(t, plainAppID, "", sandbox.PushPlain, domain.PushJSON, msg); stored || err != nil {
		t.Fatalf("retry: stored %v, %v", stored, err)
	}
	if c := back.consent(t, "oUser", "t2"); c.Allows() || c.Status != domain.SubscribeReject {
		t.Fatalf("reject after the retry: %+v", c)
	}
	if c := back.consent(t, "oUser", "t1"); c.Allows() {
		t.Fatalf("accept after the retry: %+v", c)
	}
	if _, err := back.svc.Subscriptions.Record(ctx, domain.Session{AppID: plainAppID, OpenID: "oUser"}, map[string]string{"t1": "accept"}); err != nil {
		t.Fatal(err)
	}
	if c := back.consent(t, "oUser", "t1"); !c.Allows() || c.Remaining != 1 {
		t.Fatalf("after the client's report: %+v", c)
	}
}
