package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Tests of the session check (sessioncheck.go).

func TestSessionStatus_ReportsExpiryAndWeChatsAnswer(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: time.Hour})
	tok := w.login(t, "c1", "o1", key1)
	w.clock.Advance(10 * time.Minute)
	w.wechat.KeyValid = false
	st, err := w.svc.SessionStatus(context.Background(), "", tok)
	if err != nil || st.WeChatValid || st.ExpiresIn != 50*time.Minute {
		t.Fatalf("%+v, %v", st, err)
	}
}

// With WeChat's answers kept for a minute (memory.SessionChecks), two
// checks of a session within the minute ask WeChat once, a check after it
// asks again, and a new login, with its new key, is checked afresh.
func TestSessionStatus_WeChatsAnswerIsKeptForTheTTL(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: time.Hour}, func(d *app.Deps) {
		d.Apps = []ports.WeChat{memory.NewSessionChecks(d.Apps[0], time.Minute, d.Clock)}
	})
	tok := w.login(t, "c1", "o1", key1)
	check := func(tok string, wantCalls int) {
		t.Helper()
		st, err := w.svc.SessionStatus(context.Background(), "", tok)
		if err != nil || !st.WeChatValid {
			t.Fatalf("%+v, %v", st, err)
		}
		if got := w.wechat.SessionChecks(); got != wantCalls {
			t.Fatalf("WeChat was asked %d times, want %d", got, wantCalls)
		}
	}
	w.wechat.KeyValid = true
	check(tok, 1)
	w.clock.Advance(59 * time.Second)
	check(tok, 1)
	w.clock.Advance(time.Second)
	check(tok, 2)
	other := w.login(t, "c2", "o1", key2) // a new session key for o1
	check(other, 3)
	check(other, 3)
	// A failure is not kept.
	w.clock.Advance(time.Minute)
	w.wechat.FailChecks(domain.Wrap(domain.KindUpstream, errors.New("down")))
	if _, err := w.svc.SessionStatus(context.Background(), "", tok); err == nil {
		t.Fatal("a failed check succeeded")
	}
	w.wechat.FailChecks(nil)
	check(tok, 5)
}
