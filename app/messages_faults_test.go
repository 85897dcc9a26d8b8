package app_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
)

// The faults of subscribe messages (issue 27), on the memory outbox and
// the sandbox, with the worker on a simulated clock. Each counts the
// duplicates the sandbox saw: none, except after an answer lost.

// WeChat busy (-1) for a while: the message is tried again with the
// policy's backoff (never later than BackoffMax after a failure) and sent
// once WeChat recovers, once.
func TestMessageFaults_WeChatBusyForAWhile(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	w.accept(t, "oUser", "tmpl")
	const busy = 6 // of the policy's 10 attempts
	w.sandbox.InjectAPIFault(sendPath, sandbox.Fault{Errcode: -1, Times: busy})
	j, _, err := w.send(t, "oUser", "busy")
	if err != nil {
		t.Fatal(err)
	}
	start := w.clock.Now()
	for i := 0; ; i++ {
		w.runDue(t)
		got := w.get(t, j.ID)
		if got.State != ports.JobPending {
			break
		}
		if i > busy {
			t.Fatalf("still pending after %d attempts: %+v", got.Attempts, got)
		}
		wait := got.NextAttemptAt.Sub(w.clock.Now())
		if wait <= 0 || wait > time.Minute { // BackoffMax
			t.Fatalf("attempt %d: next one in %v", got.Attempts, wait)
		}
		w.clock.Advance(wait)
	}
	got := w.get(t, j.ID)
	if got.State != ports.JobDone || got.Item.Status != domain.MessageSent || got.Attempts != busy+1 || got.Item.Unknown != 0 {
		t.Fatalf("after WeChat recovered: %+v", got)
	}
	if took := w.clock.Now().Sub(start); took > busy*time.Minute {
		t.Fatalf("sent %v after it was accepted: beyond the policy", took)
	}
	if st := w.sandbox.SubscribeStats(); st != (sandbox.SubscribeStats{Sent: 1}) {
		t.Fatalf("the sandbox saw %+v", st)
	}
	if c := w.consent(t, "oUser", "tmpl"); c.Remaining != 0 {
		t.Fatalf("retries spent allowances: %+v", c)
	}
}

// WeChat sent the message and its answer was lost (the call timed out, or
// the connection dropped once the request was sent):
// the message is "unknown", counted, tried again, and sent a second time:
// the duplicate WeChat has no key to catch, visible on the message and in
// the sandbox. The sent event of the first copy, a msgid we never learnt,
// is no error; the second's delivers the message.
func TestMessageFaults_AnswerLostAfterWeChatSent(t *testing.T) {
	for name, fault := range map[string]sandbox.Fault{"timeout": {Lost: true}, "dropped": {Lost: true, Reset: true}} {
		t.Run(name, func(t *testing.T) { answerLost(t, fault) })
	}
}

func answerLost(t *testing.T, fault sandbox.Fault) {
	w := newMessageWorld(t, 300*time.Millisecond)
	w.accept(t, "oUser", "tmpl")
	// WeChat allows the second copy
	if err := w.sandbox.Subscribe("oUser", map[string]string{"tmpl": "accept"}); err != nil {
		t.Fatal(err)
	}
	w.sandbox.InjectAPIFault(sendPath, fault)
	j, _, err := w.send(t, "oUser", "lost")
	if err != nil {
		t.Fatal(err)
	}
	w.runDue(t)
	got := w.get(t, j.ID)
	if got.State != ports.JobPending || got.Item.Status != domain.MessageUnknown || got.Item.Unknown != 1 || got.Item.MsgID != 0 {
		t.Fatalf("after the lost answer: %+v", got)
	}
	if st := w.sandbox.SubscribeStats(); st != (sandbox.SubscribeStats{Sent: 1}) {
		t.Fatalf("the sandbox saw %+v", st)
	}
	w.clock.Advance(got.NextAttemptAt.Sub(w.clock.Now()))
	w.runDue(t)
	got = w.get(t, j.ID)
	if got.State != ports.JobDone || got.Item.Status != domain.MessageSent || got.Item.Unknown != 1 || got.Attempts != 2 {
		t.Fatalf("after the retry: %+v", got)
	}
	if st := w.sandbox.SubscribeStats(); st != (sandbox.SubscribeStats{Sent: 2, Duplicates: 1}) {
		t.Fatalf("the sandbox saw %+v; want the one duplicate", st)
	}
	sent := w.sandbox.SentMessages()
	if sent[1].MsgID != got.Item.MsgID || !sent[1].Duplicate {
		t.Fatalf("sent %+v, the message has msgid %d", sent, got.Item.MsgID)
	}
	for _, m := range sent {
		e := domain.PushEvent{AppID: msgAppID, Kind: domain.PushSubscribeSent, FromUser: "oUser",
			Payload: []byte(`{"List":[{"TemplateId":"tmpl","MsgID":` + strconv.FormatInt(m.MsgID, 10) + `,"ErrorCode":0,"ErrorStatus":"success"}]}`)}
		if err := w.svc.Messages.Reconcile(context.Background(), e); err != nil {
			t.Fatalf("reconcile %d: %v", m.MsgID, err)
		}
	}
	if got := w.get(t, j.ID); got.Item.Status != domain.MessageDelivered || got.Item.Unknown != 1 {
		t.Fatalf("after the sent events: %+v", got.Item)
	}
}

// WeChat refuses with 43101 (the user withdrew consent in WeChat's
// settings, and the server was not told): the message fails, the ledger
// is zeroed, and the next message is refused by the server itself.
func TestMessageFaults_WeChatsRefusalZeroesTheLedger(t *testing.T) {
	w := newMessageWorld(t, 5*time.Second)
	w.accept(t, "oUser", "tmpl")
	w.accept(t, "oUser", "tmpl")
	// WeChat's settings page
	if err := w.sandbox.Subscribe("oUser", map[string]string{"tmpl": "reject"}); err != nil {
		t.Fatal(err)
	}
	j, _, err := w.send(t, "oUser", "refused")
	if err != nil {
		t.Fatal(err)
	}
	w.runDue(t)
	if got := w.get(t, j.ID); got.State != ports.JobDead || got.Item.ErrCode != 43101 {
		t.Fatalf("refused by WeChat: %+v", got)
	}
	if c := w.consent(t, "oUser", "tmpl"); c.Allows() || c.Remaining != 0 {
		t.Fatalf("the ledger after 43101: %+v", c)
	}
	if _, _, err := w.send(t, "oUser", "next"); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("the next message: %v", err)
	}
	if st := w.sandbox.SubscribeStats(); st != (sandbox.SubscribeStats{Refused: 1}) {
		t.Fatalf("the sandbox saw %+v", st)
	}
}
