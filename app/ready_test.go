package app_test

import (
	"context"
	"errors"
	"testing"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports/portfake"
)

// Tests of stores that are down (ready.go, and every use case).

func TestStoresDown_AreUnavailable(t *testing.T) {
	var sessions *portfake.Sessions // a store that fails on demand
	w := newWorld(t, app.Options{}, func(d *app.Deps) {
		sessions = portfake.NewSessions(d.Clock)
		d.Sessions = sessions
	})
	tok := w.login(t, "c1", "o1", key1)
	down := domain.Wrap(domain.KindUnavailable, errors.New("connection refused"))
	w.users.SetErr(down)
	_, err := w.svc.SaveUserInfo(context.Background(), "", tok, w.payload(t, key1, "o1", "x"))
	wantKind(t, err, domain.KindUnavailable)
	wantKind(t, w.svc.Ready(context.Background()), domain.KindUnavailable)
	w.users.SetErr(nil)
	sessions.SetErr(down)
	_, err = w.svc.Me(context.Background(), "", tok)
	wantKind(t, err, domain.KindUnavailable)
	w.wechat.AddCode("c9", "o9", "", key1)
	_, err = w.svc.Login(context.Background(), "", "c9", phone)
	wantKind(t, err, domain.KindUnavailable)
	sessions.SetErr(nil)
	if err := w.svc.Ready(context.Background()); err != nil {
		t.Fatalf("recovered stores: %v", err)
	}
}
