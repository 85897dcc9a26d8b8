package domain_test

import (
	"testing"
	"time"

	"wxbackend/domain"
)

func TestConsent_Ledger(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	key := domain.ConsentKey{AppID: "wx1", OpenID: "o1", TemplateID: "t1"}
	var c domain.Consent
	c.ConsentKey = key
	if c.Allows() {
		t.Fatal("no answer recorded allows a message")
	}
	if _, err := c.Debit(now); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("debit without consent: %v", err)
	}
	// Two popups accepted: two messages.
	c = c.Record(domain.SubscribeAccept, false, now).Record(domain.SubscribeAccept, false, now)
	// WeChat's push of the same acceptance counts no extra.
	c = c.Confirm(domain.SubscribeAccept, false, now)
	if c.Remaining != 2 {
		t.Fatalf("remaining %d, want 2", c.Remaining)
	}
	var err error
	for i := 0; i < 2; i++ {
		if c, err = c.Debit(now); err != nil {
			t.Fatalf("debit %d: %v", i, err)
		}
	}
	if c.Allows() {
		t.Fatal("allows a third message after two accepts")
	}
	c = c.Restore(now)
	if !c.Allows() || c.Remaining != 1 {
		t.Fatalf("restore: %+v", c)
	}
	// A filter changes nothing; a reject or ban takes everything.
	if got := c.Record(domain.SubscribeFilter, false, now); got != c {
		t.Errorf("filter changed %+v into %+v", c, got)
	}
	for _, s := range []string{domain.SubscribeReject, domain.SubscribeBan} {
		if got := c.Record(s, false, now); got.Allows() || got.Remaining != 0 {
			t.Errorf("%s: %+v", s, got)
		}
		if got := c.Confirm(s, false, now); got.Allows() {
			t.Errorf("pushed %s: %+v", s, got)
		}
	}
	// Only a push of an accept, without the client's report: one.
	var pushed domain.Consent
	pushed = pushed.Confirm(domain.SubscribeAccept, false, now).Confirm(domain.SubscribeAccept, false, now)
	if pushed.Remaining != 1 {
		t.Errorf("pushed twice: remaining %d, want 1", pushed.Remaining)
	}
	// 43101: nothing allowed, restore gives nothing back.
	if got := c.Refused(now).Restore(now); got.Allows() {
		t.Errorf("refused then restored: %+v", got)
	}
	// The accepts of a client in a loop are bounded.
	var loop domain.Consent
	for i := 0; i < 2*domain.MaxOneTimeAllowances; i++ {
		loop = loop.Record(domain.SubscribeAccept, false, now)
	}
	if loop.Remaining != domain.MaxOneTimeAllowances {
		t.Errorf("remaining %d after a loop of accepts", loop.Remaining)
	}
}

func TestConsent_LongTerm(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := domain.Consent{}.Record(domain.SubscribeAccept, true, now)
	var err error
	for i := 0; i < 5; i++ {
		if c, err = c.Debit(now); err != nil {
			t.Fatalf("long-term debit %d: %v", i, err)
		}
	}
	if c = c.Confirm(domain.SubscribeReject, true, now); c.Allows() {
		t.Fatal("long-term template allows after the user turned it off")
	}
	if c = c.Confirm(domain.SubscribeAccept, true, now); !c.Allows() {
		t.Fatal("long-term template turned on again does not allow")
	}
	if c.Refused(now).Allows() {
		t.Fatal("43101 leaves a long-term consent allowing")
	}
}

func TestConsentKey_Validate(t *testing.T) {
	for _, k := range []domain.ConsentKey{{}, {AppID: "a", OpenID: "o"}, {AppID: "a", TemplateID: "t"},
		{AppID: "a", OpenID: "o", TemplateID: string(make([]byte, domain.MaxTemplateIDLen+1))}} {
		if domain.KindOf(k.Validate()) != domain.KindInvalidInput {
			t.Errorf("%+v: valid", k)
		}
	}
	if err := (domain.ConsentKey{AppID: "a", OpenID: "o", TemplateID: "t"}).Validate(); err != nil {
		t.Error(err)
	}
}
