package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of profile edits (profile.go).

func TestEditProfile_SetsOnlyTheFieldsSent(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "From WeChat")); err != nil {
		t.Fatal(err)
	}
	city, gender := "  杭州 ", 1
	u, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{City: &city, Gender: &gender})
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile.City != "杭州" || u.Profile.Gender != 1 || u.Profile.NickName != "From WeChat" || u.UserSet != domain.FieldCity|domain.FieldGender {
		t.Fatalf("edited %+v (sources %b)", u.Profile, u.UserSet)
	}
	for name, in := range map[string]domain.ProfileInput{
		"nothing":    {},
		"blank nick": {NickName: ptr(" \u200e\t ")},
		"long nick":  {NickName: ptr(strings.Repeat("字", domain.MaxNickNameRunes+1))},
		"gender 3":   {Gender: intPtr(3)},
		"gender -1":  {Gender: intPtr(-1)},
	} {
		before := w.users.WriteCount()
		_, err := w.svc.EditProfile(ctx, "", tok, in)
		if domain.KindOf(err) != domain.KindInvalidInput || w.users.WriteCount() != before {
			t.Errorf("%s: %v (writes %d → %d)", name, err, before, w.users.WriteCount())
		}
	}
	_, err = w.svc.EditProfile(ctx, "", "not-a-token", domain.ProfileInput{City: &city})
	wantKind(t, err, domain.KindUnauthenticated)
}

func TestEditProfile_ContentCheck(t *testing.T) {
	w := newWorld(t, app.Options{ContentCheck: true})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	w.wechat.Verdicts = map[string]domain.Verdict{"Casino King": domain.VerdictRisky, "Proxy Shop": domain.VerdictReview}
	before := w.users.WriteCount()
	_, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Casino King")})
	wantKind(t, err, domain.KindContentRejected)
	if w.users.WriteCount() != before {
		t.Fatal("a risky nickname was written")
	}
	if u, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Proxy Shop")}); err != nil || u.Profile.NickName != "Proxy Shop" {
		t.Fatalf("review: %+v, %v", u.Profile, err)
	}
	w.wechat.FailChecks(domain.Wrap(domain.KindUpstream, errors.New("errcode -1")))
	_, err = w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Anyone")})
	wantKind(t, err, domain.KindUpstream) // the default policy rejects
	city := "杭州"
	if _, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{City: &city}); err != nil {
		t.Fatalf("only nicknames are checked: %v", err)
	}

	lenient := newWorld(t, app.Options{ContentCheck: true, ContentCheckOnError: "accept"})
	tok = lenient.login(t, "c1", "o1", key1)
	lenient.wechat.FailChecks(domain.Wrap(domain.KindUpstream, errors.New("errcode -1")))
	if u, err := lenient.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Anyone")}); err != nil || u.Profile.NickName != "Anyone" {
		t.Fatalf("accept policy: %+v, %v", u.Profile, err)
	}
}
