package httpapi

import (
	"errors"
	"testing"

	"wxbackend/domain"
)

// Every kind a use case can return has one outcome; not-found never reaches
// a client as such, and internal errors never show their cause.
func TestOutcomes_EveryKindHasOneCode(t *testing.T) {
	for k := domain.KindInternal; k <= domain.KindForbidden; k++ {
		_, ok := outcomes[k]
		if ok == (k == domain.KindNotFound) {
			t.Errorf("kind %v: in the table %v", k, ok)
		}
	}
	o, msg := outcomeOf(domain.Wrap(domain.KindNotFound, errors.New("row 7")))
	if o.code != 10 || msg != "internal error" {
		t.Fatalf("not-found: %+v %q", o, msg)
	}
	o, msg = outcomeOf(&domain.Error{Kind: domain.KindInternal, Msg: "db password is hunter2"})
	if o.code != 10 || msg != "internal error" {
		t.Fatalf("internal error with a message: %+v %q", o, msg)
	}
	if o, msg = outcomeOf(errors.New("plain")); o.code != 10 || msg != "internal error" {
		t.Fatalf("a plain error: %+v %q", o, msg)
	}
}
