package domain_test

import (
	"testing"
	"time"

	"wxbackend/domain"
)

func TestAvatarReview_PendingThenPublishedOrDropped(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	u := domain.User{Avatar: "old.jpg"}
	if dropped := u.SubmitAvatar("new1.jpg", "t1", at); dropped != "" || u.Avatar != "old.jpg" || u.ShownAvatar() != "new1.jpg" {
		t.Fatalf("submitted: %+v, dropped %q", u, dropped)
	}
	if dropped := u.SubmitAvatar("new2.jpg", "t2", at); dropped != "new1.jpg" {
		t.Fatalf("a second upload dropped %q, want the first pending one", dropped)
	}
	if _, ok := u.ResolveAvatar("t1", true); ok || u.ShownAvatar() != "new2.jpg" || u.Avatar != "old.jpg" {
		t.Fatalf("the verdict of a replaced check applied: %+v", u)
	}
	publ := u
	if released, ok := publ.ResolveAvatar("t2", true); !ok || released != "old.jpg" || publ.Avatar != "new2.jpg" || publ.Review != (domain.AvatarReview{}) {
		t.Errorf("published: %+v, released %q", publ, released)
	}
	rej := u
	if released, ok := rej.ResolveAvatar("t2", false); !ok || released != "new2.jpg" || rej.Avatar != "old.jpg" || rej.Review.State != domain.AvatarRejected || rej.ShownAvatar() != "old.jpg" {
		t.Errorf("rejected: %+v, released %q", rej, released)
	}
	if _, ok := rej.ResolveAvatar("t2", true); ok {
		t.Error("a verdict applied twice")
	}
}

func TestMediaCheckPolicy_Decide(t *testing.T) {
	for _, c := range []struct {
		review           string
		v                domain.Verdict
		publish, decided bool
	}{
		{domain.AvatarDrop, domain.VerdictPass, true, true},
		{domain.AvatarPublish, domain.VerdictRisky, false, true},
		{domain.AvatarPublish, domain.VerdictReview, true, true},
		{domain.AvatarDrop, domain.VerdictReview, false, true},
		{domain.AvatarKeep, domain.VerdictReview, false, false},
	} {
		p, d := domain.MediaCheckPolicy{Review: c.review}.Decide(c.v)
		if p != c.publish || d != c.decided {
			t.Errorf("review %s, verdict %s: publish %v decided %v", c.review, c.v, p, d)
		}
	}
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	u := domain.User{}
	u.SubmitAvatar("a.jpg", "t", at)
	p := domain.MediaCheckPolicy{Timeout: 30 * time.Minute}
	if p.Expired(u, at.Add(29*time.Minute)) || !p.Expired(u, at.Add(30*time.Minute)) {
		t.Error("expiry is not at the timeout")
	}
}
