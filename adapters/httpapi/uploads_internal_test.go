package httpapi

import (
	"testing"

	"wxbackend/domain"
)

// A user's count stops at its maximum, and a user whose uploads are all
// done leaves no entry behind.
func TestInFlight_BoundsASessionAndForgetsIt(t *testing.T) {
	f := inFlight{max: 2}
	a, b := domain.Identity{AppID: "wx1", OpenID: "a"}, domain.Identity{AppID: "wx1", OpenID: "b"}
	if !f.take(a) || !f.take(a) || f.take(a) {
		t.Fatal("a user's third upload was not refused, or an earlier one was")
	}
	if !f.take(b) {
		t.Fatal("another user was refused")
	}
	f.done(a)
	if !f.take(a) {
		t.Fatal("a freed slot was not taken again")
	}
	f.done(a)
	f.done(a)
	f.done(b)
	if n := f.len(); n != 0 {
		t.Fatalf("%d users left with no upload in flight", n)
	}
}
