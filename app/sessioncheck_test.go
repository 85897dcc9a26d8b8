package app_test

import (
	"context"
	"testing"
	"time"

	"wxbackend/app"
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
