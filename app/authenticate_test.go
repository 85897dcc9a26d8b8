package app_test

import (
	"context"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of authentication (authenticate.go) and of New (app.go).

func TestSession_ExpiresAfterTTL(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: time.Hour})
	tok := w.login(t, "c1", "o1", key1)
	w.clock.Advance(time.Hour)
	_, err := w.svc.Me(context.Background(), "", tok)
	wantKind(t, err, domain.KindUnauthenticated)
}

func TestNew_RequiresEveryDependency(t *testing.T) {
	if _, err := app.New(app.Deps{}, app.Options{SessionTTL: time.Hour}); err == nil {
		t.Fatal("accepted no dependencies")
	}
}
