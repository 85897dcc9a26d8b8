package app_test

import (
	"context"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
)

// A message to a user_id goes to the openid that user has in the app; a
// user_id no user of the app has is refused, and nothing is stored.
func TestMessages_SendByUserIDFindsTheAppsOpenID(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	// One person in two apps: the message goes to this app's openid.
	for _, id := range []domain.Identity{{AppID: "wxother", OpenID: "oOther"}, {AppID: msgAppID, OpenID: "oHere"}} {
		if _, err := w.users.EnsureUser(ctx, id, "uPerson", now); err != nil {
			t.Fatal(err)
		}
	}
	w.accept(t, "oHere", "tmpl")
	in := app.SendInput{UserID: "uPerson", TemplateID: "tmpl", Data: map[string]string{"thing1": "到了"}, IdempotencyKey: "k1"}
	j, added, err := w.svc.Messages.Send(ctx, in)
	if err != nil || !added || j.Item.OpenID != "oHere" {
		t.Fatalf("send by user_id: %+v %v %v", j.Item, added, err)
	}
	both := in
	both.OpenID, both.IdempotencyKey = "oHere", "k2"
	if _, _, err := w.svc.Messages.Send(ctx, both); domain.KindOf(err) != domain.KindInvalidInput {
		t.Fatalf("openid and user_id: %v", err)
	}
	for _, unknown := range []string{"uNobody", "uOnlyElsewhere"} {
		if _, err := w.users.EnsureUser(ctx, domain.Identity{AppID: "wxother", OpenID: "oElse"}, "uOnlyElsewhere", now); err != nil {
			t.Fatal(err)
		}
		w.accept(t, "oElse", "tmpl")
		in := app.SendInput{UserID: unknown, TemplateID: "tmpl", Data: map[string]string{"thing1": "到了"}, IdempotencyKey: "k-" + unknown}
		if _, _, err := w.svc.Messages.Send(ctx, in); err != app.ErrNoSuchUser {
			t.Errorf("%s: %v, want ErrNoSuchUser", unknown, err)
		}
	}
	if jobs, _ := w.outbox.List(ctx, ports.JobFilter{}); len(jobs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(jobs))
	}
}

// A long-term template allows any number of messages, none debited, until
// WeChat's 43101 zeroes it; a one-time template of the same app allows one.
func TestMessages_LongTermTemplateIsUnlimitedUntilRefused(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second, func(d *app.Deps) {
		d.LongTermTemplates = map[string][]string{msgAppID: {"tmpl"}}
	})
	w.accept(t, "oUser", "tmpl")
	for i, key := range []string{"k1", "k2", "k3"} {
		if _, added, err := w.send(t, "oUser", key); err != nil || !added {
			t.Fatalf("message %d on a long-term template: %v %v", i+1, added, err)
		}
	}
	if c := w.consent(t, "oUser", "tmpl"); !c.LongTerm || !c.Allows() {
		t.Fatalf("after three messages: %+v", c)
	}
	w.runDue(t)
	if n := w.sandbox.APICalls()[sendPath]; n != 3 {
		t.Fatalf("WeChat saw %d sends, want 3", n)
	}
	w.sandbox.InjectAPIFault(sendPath, sandbox.Fault{Errcode: 43101})
	j, _, err := w.send(t, "oUser", "k4")
	if err != nil {
		t.Fatal(err)
	}
	w.runDue(t)
	if got := w.get(t, j.ID); got.Item.Status != domain.MessageFailed || got.Item.ErrCode != 43101 {
		t.Fatalf("after 43101: %+v", got.Item)
	}
	if _, _, err := w.send(t, "oUser", "k5"); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("after 43101 the long-term template still allows: %v", err)
	}
}

// An operator lists messages by status, and queues a failed one again:
// its consent is spent again (refused without one), it is sent once
// more; a sent one is refused, and so is one still being tried.
func TestMessages_OperatorListsAndRetries(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	ctx := context.Background()
	w.accept(t, "oUser", "tmpl")
	w.accept(t, "oUser", "tmpl")
	sent, _, err := w.send(t, "oUser", "k-sent")
	if err != nil {
		t.Fatal(err)
	}
	w.runDue(t)
	w.sandbox.InjectAPIFault(sendPath, sandbox.Fault{Errcode: 40037}) // the template changed, say
	failed, _, err := w.send(t, "oUser", "k-failed")
	if err != nil {
		t.Fatal(err)
	}
	w.runDue(t)
	if got := w.get(t, failed.ID); got.State != ports.JobDead || got.Item.Status != domain.MessageFailed {
		t.Fatalf("not failed: %+v", got)
	}

	list, err := w.svc.Messages.List(ctx, app.MessageFilter{Status: domain.MessageFailed})
	if err != nil || len(list) != 1 || list[0].ID != failed.ID {
		t.Fatalf("failed ones: %+v %v", list, err)
	}
	if list, err := w.svc.Messages.List(ctx, app.MessageFilter{}); err != nil || len(list) != 2 || list[0].ID != failed.ID {
		t.Fatalf("every one, newest first: %+v %v", list, err)
	}
	if list, err := w.svc.Messages.List(ctx, app.MessageFilter{AppID: "wxother"}); err != nil || len(list) != 0 {
		t.Fatalf("another app's: %+v %v", list, err)
	}
	if _, err := w.svc.Messages.List(ctx, app.MessageFilter{Status: "lost"}); domain.KindOf(err) != domain.KindInvalidInput {
		t.Fatalf("an unknown status: %v", err)
	}

	if _, err := w.svc.Messages.Retry(ctx, sent.ID); domain.KindOf(err) != domain.KindInvalidInput {
		t.Fatalf("retry of a sent message: %v", err)
	}
	if _, err := w.svc.Messages.Retry(ctx, 999); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("retry of none: %v", err)
	}
	// 40037 gave the allowance back: the retry spends it again.
	j, err := w.svc.Messages.Retry(ctx, failed.ID)
	if err != nil || j.State != ports.JobPending || j.Item.Status != domain.MessageQueued || j.Attempts != 0 {
		t.Fatalf("retry: %+v %v", j, err)
	}
	if c := w.consent(t, "oUser", "tmpl"); c.Remaining != 0 {
		t.Fatalf("the retry spent no allowance: %+v", c)
	}
	if _, err := w.svc.Messages.Retry(ctx, failed.ID); domain.KindOf(err) != domain.KindInvalidInput {
		t.Fatalf("retry of a message being tried: %v", err)
	}
	w.runDue(t)
	if got := w.get(t, failed.ID); got.State != ports.JobDone || got.Item.Status != domain.MessageSent || got.Item.MsgID == 0 {
		t.Fatalf("after the retry: %+v", got)
	}

	// A failed message whose user has no allowance left: refused, still failed.
	w.sandbox.InjectAPIFault(sendPath, sandbox.Fault{Errcode: 43101})
	w.accept(t, "oUser", "tmpl")
	refused, _, err := w.send(t, "oUser", "k-refused")
	if err != nil {
		t.Fatal(err)
	}
	w.runDue(t)
	if _, err := w.svc.Messages.Retry(ctx, refused.ID); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("retry without consent: %v", err)
	}
	if got := w.get(t, refused.ID); got.State != ports.JobDead || got.Item.Status != domain.MessageFailed {
		t.Fatalf("after a refused retry: %+v", got)
	}
}

// A message given up on after every attempt (WeChat busy throughout) is
// queued again without spending consent: its allowance is still spent.
func TestMessages_RetryOfAMessageGivenUpSpendsNoConsent(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	w.accept(t, "oUser", "tmpl")
	w.accept(t, "oUser", "tmpl")
	w.sandbox.InjectAPIFault(sendPath, sandbox.Fault{Errcode: -1, Times: 10})
	j, _, err := w.send(t, "oUser", "k")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12 && w.get(t, j.ID).State == ports.JobPending; i++ {
		w.runDue(t)
		w.clock.Advance(2 * time.Minute)
	}
	if got := w.get(t, j.ID); got.State != ports.JobDead || got.Item.Status != domain.MessageQueued {
		t.Fatalf("not given up: %+v", got)
	}
	if _, err := w.svc.Messages.Retry(context.Background(), j.ID); err != nil {
		t.Fatal(err)
	}
	if c := w.consent(t, "oUser", "tmpl"); c.Remaining != 1 {
		t.Fatalf("the retry spent an allowance: %+v", c)
	}
	w.runDue(t)
	if got := w.get(t, j.ID); got.Item.Status != domain.MessageSent {
		t.Fatalf("after the retry: %+v", got)
	}
}
