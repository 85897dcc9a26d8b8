package app_test

import (
	"context"
	"testing"

	"wxbackend/app"
	"wxbackend/domain"
)

func TestOperator_FindLogoutDelete(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	w.wechat.AddCode("c1", "o1", "uAda", key1)
	res, err := w.svc.Login(ctx, "", "c1", phone)
	if err != nil {
		t.Fatal(err)
	}
	tok := res.Token.Reveal()
	w.wechat.AddPhoneCode("p1", phoneInfo("13800138000"))
	if _, err := w.svc.SetPhone(ctx, "", tok, app.PhoneInput{Code: "p1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetAvatar(ctx, "", tok, picture(t, 11)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"o1", "13800138000", "+8613800138000", "uAda"} {
		users, err := w.svc.FindUsers(ctx, "", q)
		if err != nil || len(users) != 1 || users[0].OpenID != "o1" {
			t.Fatalf("find %q: %+v, %v", q, users, err)
		}
	}
	if users, err := w.svc.FindUsers(ctx, "", "nobody"); err != nil || len(users) != 0 {
		t.Fatalf("find nobody: %+v, %v", users, err)
	}
	if n, err := w.svc.CountSessions(ctx); err != nil || n != 1 {
		t.Fatalf("sessions: %d, %v", n, err)
	}
	id := domain.Identity{AppID: appID, OpenID: "o1"}
	if err := w.svc.DeleteUser(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Me(ctx, "", tok)
	wantKind(t, err, domain.KindUnauthenticated)
	if _, err := w.users.Get(ctx, id); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("the row: %v", err)
	}
	if len(w.blobNames(t)) != 0 {
		t.Fatalf("the avatar is kept: %v", w.blobNames(t))
	}
	wantKind(t, w.svc.DeleteUser(ctx, id), domain.KindNotFound)
}
