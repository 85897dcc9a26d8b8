package httpapi

import (
	"crypto/sha256"
	"testing"
)

// A session's count stops at its maximum, and a session whose uploads are
// all done leaves no entry behind.
func TestInFlight_BoundsASessionAndForgetsIt(t *testing.T) {
	f := inFlight{max: 2}
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	if !f.take(a) || !f.take(a) || f.take(a) {
		t.Fatal("a session's third upload was not refused, or an earlier one was")
	}
	if !f.take(b) {
		t.Fatal("another session was refused")
	}
	f.done(a)
	if !f.take(a) {
		t.Fatal("a freed slot was not taken again")
	}
	f.done(a)
	f.done(a)
	f.done(b)
	if n := f.len(); n != 0 {
		t.Fatalf("%d sessions left with no upload in flight", n)
	}
}
