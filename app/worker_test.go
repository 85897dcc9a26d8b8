package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
)

func (w *pushWorld) worker(t *testing.T, owner string, p app.WorkerPolicy) *app.Worker[domain.PushEvent] {
	t.Helper()
	wk, err := app.NewWorker(w.inbox, w.svc.DeliverPush.Handle, w.clock, p, owner, nil,
		func(j ports.Job[domain.PushEvent], result string) { w.counts.Delivery(j.Item.AppID, result) })
	if err != nil {
		t.Fatal(err)
	}
	return wk
}

var testPolicy = app.WorkerPolicy{Batch: 8, Lease: time.Minute, MaxAttempts: 30, BackoffBase: 10 * time.Second,
	BackoffMax: 10 * time.Minute, PollInterval: time.Second}

// receive stores n events of each user, alternating users, and returns
// their dedup keys in order of arrival per user.
func (w *pushWorld) receive(t *testing.T, users []string, n int) map[string][]string {
	t.Helper()
	order := map[string][]string{}
	for i := range n {
		for _, u := range users {
			ev := event(u, "x", w.clock.Now())
			ev["seq"] = fmt.Sprint(i)
			if stored, err := w.push(t, plainAppID, "", sandbox.PushPlain, domain.PushJSON, sandbox.EventJSON(ev)); !stored || err != nil {
				t.Fatalf("stored %v %v", stored, err)
			}
			jobs, _ := w.inbox.List(context.Background(), ports.JobFilter{Limit: 1})
			order[u] = append(order[u], jobs[0].Item.DedupKey)
		}
	}
	return order
}

// TestWorker_WebhookDownForAnHour: with the webhook down for an hour of
// the (simulated) clock, events are retried with backoff, none dies, and
// once it is back every event is delivered once, each user's in order of
// arrival.
func TestWorker_WebhookDownForAnHour(t *testing.T) {
	w := newPushWorld(t)
	users := []string{"oAlice", "oBob", "oCarol"}
	want := w.receive(t, users, 4)
	wk := w.worker(t, "w1", testPolicy)
	w.webhook.setDown(true)
	back := w.clock.Now().Add(time.Hour)
	for w.clock.Now().Before(back) {
		if _, err := wk.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(15 * time.Second)
	}
	if len(w.webhook.got()) != 0 || w.counts.get("delivery:retry") == 0 {
		t.Fatalf("while down: %d delivered, %d retries", len(w.webhook.got()), w.counts.get("delivery:retry"))
	}
	attemptsWhileDown := w.webhook.attempts
	w.webhook.setDown(false)
	for range 1000 {
		if len(w.webhook.got()) == 12 {
			break
		}
		if _, err := wk.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(15 * time.Second)
	}
	got := map[string][]string{}
	for _, e := range w.webhook.got() {
		got[e.FromUser] = append(got[e.FromUser], e.DedupKey)
	}
	for _, u := range users {
		if fmt.Sprint(got[u]) != fmt.Sprint(want[u]) {
			t.Errorf("%s's events delivered as %v, want %v", u, got[u], want[u])
		}
	}
	if w.counts.get("delivery:dead") != 0 || w.counts.get("delivery:delivered") != 12 {
		t.Fatalf("counted %v", w.counts.n)
	}
	// Only each user's first event is tried while the webhook is down
	// (the others wait behind it), with backoff: a handful of attempts in
	// an hour (about 13 each), not one per poll (240).
	if attemptsWhileDown > 3*20 {
		t.Fatalf("%d attempts in an hour down", attemptsWhileDown)
	}
}

// TestWorker_DeadAfterMaxAttemptsThenReplayed: an event that fails
// MaxAttempts times is dead, the user's next one goes on, and a replayed
// event is delivered.
func TestWorker_DeadAfterMaxAttemptsThenReplayed(t *testing.T) {
	w := newPushWorld(t)
	w.receive(t, []string{"oAlice"}, 2)
	p := testPolicy
	p.MaxAttempts = 3
	wk := w.worker(t, "w1", p)
	w.webhook.setDown(true)
	for range 200 {
		if _, err := wk.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Minute)
		if w.counts.get("delivery:dead") == 2 {
			break
		}
	}
	dead, _ := w.inbox.List(context.Background(), ports.JobFilter{State: ports.JobDead})
	if len(dead) != 2 || dead[0].Attempts != 3 || dead[0].LastError != "webhook: 503" {
		t.Fatalf("dead: %+v", dead)
	}
	w.webhook.setDown(false)
	if _, err := w.svc.PushEvents.List(context.Background(), ports.JobFilter{State: "lost"}); domain.KindOf(err) != domain.KindInvalidInput {
		t.Fatalf("a state that is none: %v", err)
	}
	if err := w.svc.PushEvents.Replay(context.Background(), dead[1].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := wk.RunOnce(context.Background()); n != 1 || err != nil || len(w.webhook.got()) != 1 {
		t.Fatalf("replayed: claimed %d (%v), delivered %d", n, err, len(w.webhook.got()))
	}
}

// TestWorker_ACrashedWorkersLeaseRunsOut: a job claimed by a worker that
// then died is done by another once the lease has run out, not before.
func TestWorker_ACrashedWorkersLeaseRunsOut(t *testing.T) {
	w := newPushWorld(t)
	w.receive(t, []string{"oAlice"}, 1)
	if jobs, _ := w.inbox.Claim(context.Background(), "crashed", 8, w.clock.Now(), w.clock.Now().Add(time.Minute)); len(jobs) != 1 {
		t.Fatal("nothing to claim")
	}
	wk := w.worker(t, "w2", testPolicy)
	if n, _ := wk.RunOnce(context.Background()); n != 0 {
		t.Fatal("a leased job was claimed")
	}
	w.clock.Advance(time.Minute)
	if n, _ := wk.RunOnce(context.Background()); n != 1 || len(w.webhook.got()) != 1 {
		t.Fatalf("after the lease: claimed %d, delivered %d", n, len(w.webhook.got()))
	}
}

func TestWorkerPolicy_BackoffDoublesToItsCapWithJitter(t *testing.T) {
	p := testPolicy
	for _, c := range []struct {
		attempt  int
		min, max time.Duration
	}{{1, 5 * time.Second, 10 * time.Second}, {2, 10 * time.Second, 20 * time.Second}, {4, 40 * time.Second, 80 * time.Second},
		{10, 5 * time.Minute, 10 * time.Minute}, {1000, 5 * time.Minute, 10 * time.Minute}} {
		lo, hi := p.Backoff(c.attempt, 0), p.Backoff(c.attempt, 0.999999)
		if lo != c.min || hi > c.max || hi < c.max-time.Millisecond {
			t.Errorf("attempt %d: %v to %v, want %v to %v", c.attempt, lo, hi, c.min, c.max)
		}
	}
}
