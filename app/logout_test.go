package app_test

import (
	"context"
	"testing"

	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of logging out (logout.go).

func TestLogout_EndsTheSessionAtOnce(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	other := w.login(t, "c2", "o1", key1)
	if err := w.svc.Logout(context.Background(), "", tok); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.Me(context.Background(), "", tok)
	wantKind(t, err, domain.KindUnauthenticated)
	wantKind(t, w.svc.Logout(context.Background(), "", tok), domain.KindUnauthenticated)
	if _, err := w.svc.Me(context.Background(), "", other); err != nil {
		t.Fatalf("the user's other session: %v", err)
	}
}

func TestLogoutEverywhere_EndsEverySessionOfTheUser(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	phoneTok := w.login(t, "c1", "o1", key1)
	laptopTok := w.login(t, "c2", "o1", key1)
	otherUser := w.login(t, "c3", "o2", key2)
	if err := w.svc.LogoutEverywhere(ctx, "", phoneTok); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{phoneTok, laptopTok} {
		_, err := w.svc.Me(ctx, "", tok)
		wantKind(t, err, domain.KindUnauthenticated)
	}
	if _, err := w.svc.Me(ctx, "", otherUser); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
}
