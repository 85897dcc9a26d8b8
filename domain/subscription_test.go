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
	c = c.Credit(domain.FromClient, false, now).Credit(domain.FromClient, false, now)
	// WeChat's pushes of the same two taps count no extra.
	c = c.Credit(domain.FromWeChat, false, now).Credit(domain.FromWeChat, false, now)
	if c.Remaining != 2 || c.Unpaired != 0 {
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
	if got := c.Withdraw(domain.SubscribeFilter, now); got != c {
		t.Errorf("filter changed %+v into %+v", c, got)
	}
	for _, s := range []string{domain.SubscribeReject, domain.SubscribeBan} {
		if got := c.Withdraw(s, now); got.Allows() || got.Remaining != 0 || got.Status != s {
			t.Errorf("%s: %+v", s, got)
		}
	}
	// Only pushes of two taps, without the client's reports: two.
	var pushed domain.Consent
	pushed = pushed.Credit(domain.FromWeChat, false, now).Credit(domain.FromWeChat, false, now)
	if pushed.Remaining != 2 || pushed.Unpaired != -2 {
		t.Errorf("two taps pushed: %+v, want 2 allowances", pushed)
	}
	// 43101: nothing allowed, restore gives nothing back.
	if got := c.Refused(now).Restore(now); got.Allows() {
		t.Errorf("refused then restored: %+v", got)
	}
	// The accepts of a client in a loop are bounded.
	var loop domain.Consent
	for i := 0; i < 2*domain.MaxOneTimeAllowances; i++ {
		loop = loop.Credit(domain.FromClient, false, now)
	}
	if loop.Remaining != domain.MaxOneTimeAllowances || loop.Unpaired != domain.MaxOneTimeAllowances {
		t.Errorf("remaining %d after a loop of accepts", loop.Remaining)
	}
}

func TestConsent_LongTerm(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := domain.Consent{}.Credit(domain.FromClient, true, now)
	var err error
	for i := 0; i < 5; i++ {
		if c, err = c.Debit(now); err != nil {
			t.Fatalf("long-term debit %d: %v", i, err)
		}
	}
	if c = c.Withdraw(domain.SubscribeReject, now); c.Allows() {
		t.Fatal("long-term template allows after the user turned it off")
	}
	if c = c.Credit(domain.FromWeChat, true, now.Add(time.Hour)); !c.Allows() || c.Remaining != 0 {
		t.Fatal("long-term template turned on again does not allow")
	}
	if c.Refused(now).Allows() {
		t.Fatal("43101 leaves a long-term consent allowing")
	}
}

// One tap is told by the client and by WeChat, in either order: it counts
// once; two taps count twice; an echo later than the window is a tap.
func TestConsent_ATapToldBothWaysCountsOnce(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, first := range []domain.ConsentSource{domain.FromClient, domain.FromWeChat} {
		other := -first
		c := domain.Consent{}.Credit(first, false, t0)
		if c = c.Credit(other, false, t0.Add(2*time.Second)); c.Remaining != 1 || c.Unpaired != 0 || !c.Allows() {
			t.Fatalf("one tap told by %d then %d: %+v", first, other, c)
		}
		c = c.Credit(other, false, t0.Add(time.Minute)).Credit(first, false, t0.Add(time.Minute+time.Second))
		if c.Remaining != 2 || c.Unpaired != 0 {
			t.Fatalf("a second tap: %+v", c)
		}
		late := domain.Consent{}.Credit(first, false, t0).Credit(other, false, t0.Add(domain.ConsentPairWindow+time.Second))
		if late.Remaining != 2 || late.Unpaired != int(other) {
			t.Fatalf("an echo after the window: %+v", late)
		}
	}
	// The echo of a tap the user took back changes nothing.
	c := domain.Consent{}.Credit(domain.FromClient, false, t0).Withdraw(domain.SubscribeReject, t0.Add(time.Second))
	if c = c.Credit(domain.FromWeChat, false, t0.Add(2*time.Second)); c.Allows() || c.Status != domain.SubscribeReject {
		t.Fatalf("echo after a reject: %+v", c)
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

func TestConsentKey_TemplateIDsAreWeChatsCharacters(t *testing.T) {
	for _, id := range []string{"t1\x00", "t\x1b[31m", "好", "a b", "a/b"} {
		if err := (domain.ConsentKey{AppID: "wx1", OpenID: "o1", TemplateID: id}).Validate(); err == nil {
			t.Errorf("template ID %q accepted", id)
		}
	}
	if err := (domain.ConsentKey{AppID: "wx1", OpenID: "o1", TemplateID: "lXEyJzYdH8BVG2K-8Ku1v5XJ8GhGr_OuXhk8cO7rFso"}).Validate(); err != nil {
		t.Errorf("a real template ID refused: %v", err)
	}
}
