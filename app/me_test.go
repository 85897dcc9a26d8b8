package app_test

import (
	"context"
	"testing"

	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of reading the user (me.go).

// A user deleted from the database behind the sessions' back: the next
// request that needs the row is code 2, and the next login recreates the
// user.
func TestVanishedUser_NextLoginRecreatesIt(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	tok := w.login(t, "c1", "o1", key1)
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "Here")); err != nil {
		t.Fatal(err)
	}
	id := domain.Identity{AppID: appID, OpenID: "o1"}
	if err := w.users.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.Me(ctx, "", tok)
	wantKind(t, err, domain.KindUnauthenticated)
	tok = w.login(t, "c2", "o1", key2)
	if _, err := w.users.Get(ctx, id); err != nil {
		t.Fatalf("the login after did not recreate the user: %v", err)
	}
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key2, "o1", "Here")); err != nil {
		t.Fatalf("the same profile after: %v", err)
	}
}
