package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports/portfake"
)

// Tests of introspection (introspect.go), on the memory session store.

var introspector = domain.APIKey{Name: "orders", Scopes: []domain.Scope{domain.ScopeIntrospect}}

func TestIntrospect_ALiveTokenIsItsSessionWithoutTheUserDatabase(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: time.Hour})
	issued := w.clock.Now()
	tok := w.login(t, "c1", "o1", key1)
	w.clock.Advance(time.Minute)
	w.users.SetErr(domain.ErrUnavailable) // never asked
	got, err := w.svc.a.Introspect.Handle(context.Background(), introspector, tok)
	if err != nil || !got.Active {
		t.Fatalf("%+v, %v", got, err)
	}
	s := got.Session
	if s.OpenID != "o1" || s.AppID != appID || !s.IssuedAt.Equal(issued) || !s.ExpiresAt.Equal(issued.Add(time.Hour)) {
		t.Fatalf("session %+v", s)
	}
}

func TestIntrospect_EveryOtherTokenIsInactive(t *testing.T) {
	w := newWorld(t, app.Options{SessionTTL: time.Hour})
	ctx := context.Background()
	tok := w.login(t, "c1", "o1", key1)
	loggedOut := w.login(t, "c2", "o2", key2)
	if err := w.svc.Logout(ctx, "", loggedOut); err != nil {
		t.Fatal(err)
	}
	otherApp := introspector
	otherApp.Apps = []string{"wx0000000000000000"}
	noScope := domain.APIKey{Name: "sender", Scopes: []domain.Scope{domain.ScopeMessages}}
	for name, c := range map[string]struct {
		key domain.APIKey
		raw string
	}{
		"malformed": {introspector, "not a token"}, "empty": {introspector, ""},
		"unknown": {introspector, domain.NewToken([domain.TokenBytes]byte{7, 7, 7}).
			WithTag(domain.UserTag(domain.Identity{AppID: appID, OpenID: "o1"})).Reveal()},
		"logged out":                    {introspector, loggedOut},
		"of an app the key may not see": {otherApp, tok},
		"a key without the scope":       {noScope, tok},
	} {
		got, err := w.svc.a.Introspect.Handle(ctx, c.key, c.raw)
		if err != nil || got.Active || got.Session.OpenID != "" {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	w.clock.Advance(time.Hour)
	if got, err := w.svc.a.Introspect.Handle(ctx, introspector, tok); err != nil || got.Active {
		t.Fatalf("expired: %+v, %v", got, err)
	}
}

// A session store that does not answer is an error (code 9), not an
// inactive token: the caller must not take a store outage for a logout.
func TestIntrospect_StoreDownIsAnError(t *testing.T) {
	sessions := portfake.NewSessions(portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)))
	w := newWorld(t, app.Options{}, withSessions(sessions))
	tok := w.login(t, "c1", "o1", key1)
	sessions.SetErr(domain.Wrap(domain.KindUnavailable, errors.New("down")))
	_, err := w.svc.a.Introspect.Handle(context.Background(), introspector, tok)
	wantKind(t, err, domain.KindUnavailable)
}
