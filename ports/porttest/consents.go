package porttest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// TestConsents runs the Consents contract; newConsents returns an empty
// ledger of its own.
func TestConsents(t *testing.T, newConsents func(t *testing.T) ports.Consents) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	key := func(t *testing.T) domain.ConsentKey {
		return domain.ConsentKey{AppID: "wxapp", OpenID: uniqueID(t, "o"), TemplateID: "tmpl-" + uniqueID(t, "")}
	}

	t.Run("NoneRecordedIsTheZeroConsent", func(t *testing.T) {
		c := newConsents(t)
		k := key(t)
		got, err := c.Get(ctx(t), k)
		if err != nil || got != (domain.Consent{ConsentKey: k}) {
			t.Fatalf("get: %+v %v", got, err)
		}
	})

	t.Run("UpdateStoresAndReadsBackWhole", func(t *testing.T) {
		c := newConsents(t)
		k := key(t)
		want := domain.Consent{ConsentKey: k, Status: domain.SubscribeAccept, LongTerm: true, Remaining: 3, UpdatedAt: t0}
		got, err := c.Update(ctx(t), k, func(old domain.Consent) (domain.Consent, error) {
			if old != (domain.Consent{ConsentKey: k}) {
				t.Errorf("first update sees %+v", old)
			}
			return want, nil
		})
		if err != nil || got != want {
			t.Fatalf("update: %+v %v", got, err)
		}
		if got, err := c.Get(ctx(t), k); err != nil || got != want {
			t.Fatalf("get: %+v %v, want %+v", got, err, want)
		}
		// Another template or user of the same app is another entry.
		other := k
		other.TemplateID += "x"
		if got, _ := c.Get(ctx(t), other); got.Status != "" {
			t.Errorf("another template: %+v", got)
		}
		// A second update sees the first's result.
		want.Remaining, want.LongTerm, want.UpdatedAt = 2, false, t0.Add(time.Second)
		if _, err := c.Update(ctx(t), k, func(old domain.Consent) (domain.Consent, error) {
			if old.Remaining != 3 || !old.LongTerm {
				t.Errorf("second update sees %+v", old)
			}
			return want, nil
		}); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Get(ctx(t), k); got != want {
			t.Fatalf("after the second update: %+v, want %+v", got, want)
		}
	})

	t.Run("AnErrorStoresNothing", func(t *testing.T) {
		c := newConsents(t)
		k := key(t)
		boom := errors.New("boom")
		if _, err := c.Update(ctx(t), k, func(old domain.Consent) (domain.Consent, error) {
			return old.Credit(domain.FromClient, false, t0), boom
		}); !errors.Is(err, boom) {
			t.Fatalf("update: %v", err)
		}
		if got, _ := c.Get(ctx(t), k); got.Status != "" {
			t.Fatalf("stored after an error: %+v", got)
		}
	})

	t.Run("ConcurrentUpdatesAreSerial", func(t *testing.T) {
		c := newConsents(t)
		k := key(t)
		const n = 8
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Update(ctx(t), k, func(old domain.Consent) (domain.Consent, error) {
					return old.Credit(domain.FromClient, false, t0), nil
				}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got, _ := c.Get(ctx(t), k); got.Remaining != n {
			t.Fatalf("%d accepts at once: %d allowances", n, got.Remaining)
		}
	})

	t.Run("UpdateKeepsTheUnpairedCredits", func(t *testing.T) {
		c := newConsents(t)
		k := key(t)
		want := domain.Consent{ConsentKey: k, Status: domain.SubscribeAccept, Remaining: 1, UpdatedAt: t0, Unpaired: -1, UnpairedAt: t0}
		if got, err := c.Update(ctx(t), k, func(domain.Consent) (domain.Consent, error) { return want, nil }); err != nil || got != want {
			t.Fatalf("update: %+v %v", got, err)
		}
		if got, _ := c.Get(ctx(t), k); got != want {
			t.Fatalf("get: %+v, want %+v", got, want)
		}
	})

	// Credit is domain.Consent.Credit, in one statement: one tap told by
	// the client and by WeChat counts once, in either order; two taps
	// count twice; an echo after the window is a tap of its own.
	t.Run("CreditPairsATapToldBothWays", func(t *testing.T) {
		c := newConsents(t)
		for _, first := range []domain.ConsentSource{domain.FromClient, domain.FromWeChat} {
			k := key(t)
			k.TemplateID += fmt.Sprint(first)
			other := -first
			credit := func(from domain.ConsentSource, at time.Time) domain.Consent {
				t.Helper()
				got, err := c.Credit(ctx(t), k, from, false, at)
				if err != nil {
					t.Fatal(err)
				}
				if stored, _ := c.Get(ctx(t), k); stored != got {
					t.Fatalf("credit returned %+v, stored %+v", got, stored)
				}
				return got
			}
			want := domain.Consent{ConsentKey: k, Status: domain.SubscribeAccept, Remaining: 1, UpdatedAt: t0, Unpaired: int(first), UnpairedAt: t0}
			if got := credit(first, t0); got != want {
				t.Fatalf("first credit: %+v, want %+v", got, want)
			}
			// Its echo: the same tap.
			if got := credit(other, t0.Add(3*time.Second)); got.Remaining != 1 || got.Unpaired != 0 || !got.UpdatedAt.Equal(t0) {
				t.Fatalf("%d then %d: %+v, want 1 allowance", first, other, got)
			}
			// A second tap, told the other way round.
			credit(other, t0.Add(time.Minute))
			if got := credit(first, t0.Add(time.Minute+time.Second)); got.Remaining != 2 || got.Unpaired != 0 {
				t.Fatalf("two taps: %+v, want 2", got)
			}
			// Two taps told by one source before the other's echoes.
			credit(first, t0.Add(2*time.Minute))
			credit(first, t0.Add(2*time.Minute))
			credit(other, t0.Add(2*time.Minute+time.Second))
			if got := credit(other, t0.Add(2*time.Minute+time.Second)); got.Remaining != 4 || got.Unpaired != 0 {
				t.Fatalf("four taps: %+v, want 4", got)
			}
			// An echo after the window: a tap.
			credit(first, t0.Add(time.Hour))
			late := t0.Add(time.Hour + domain.ConsentPairWindow + time.Second)
			want = domain.Consent{ConsentKey: k, Status: domain.SubscribeAccept, Remaining: 6, UpdatedAt: late, Unpaired: int(other), UnpairedAt: late}
			if got := credit(other, late); got != want {
				t.Fatalf("late echo: %+v, want %+v", got, want)
			}
		}
	})

	t.Run("CreditOfALongTermTemplateAndAfterAReject", func(t *testing.T) {
		c := newConsents(t)
		k := key(t)
		got, err := c.Credit(ctx(t), k, domain.FromWeChat, true, t0)
		if err != nil || !got.Allows() || !got.LongTerm || got.Remaining != 0 {
			t.Fatalf("long-term: %+v %v", got, err)
		}
		// The user takes it back; the echo of the tap changes nothing.
		if _, err := c.Update(ctx(t), k, func(old domain.Consent) (domain.Consent, error) {
			return old.Withdraw(domain.SubscribeReject, t0.Add(time.Second)), nil
		}); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Credit(ctx(t), k, domain.FromClient, true, t0.Add(2*time.Second)); err != nil || got.Allows() || got.Status != domain.SubscribeReject {
			t.Fatalf("the echo after a reject: %+v %v", got, err)
		}
		// A one-time template's allowances are bounded.
		k2 := key(t)
		for i := 0; i < domain.MaxOneTimeAllowances+3; i++ {
			got, err = c.Credit(ctx(t), k2, domain.FromClient, false, t0)
			if err != nil {
				t.Fatal(err)
			}
		}
		if got.Remaining != domain.MaxOneTimeAllowances || got.Unpaired != domain.MaxOneTimeAllowances {
			t.Fatalf("a loop of accepts: %+v", got)
		}
	})

	// However the two sources' credits interleave, n taps told both ways
	// count n: a lost update would count another number.
	t.Run("ConcurrentCreditsPairAsSerialOnes", func(t *testing.T) {
		c := newConsents(t)
		k := key(t)
		const n = 6
		var wg sync.WaitGroup
		for i := 0; i < 2*n; i++ {
			from := domain.FromClient
			if i%2 == 1 {
				from = domain.FromWeChat
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Credit(ctx(t), k, from, false, t0); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got, _ := c.Get(ctx(t), k); got.Remaining != n || got.Unpaired != 0 {
			t.Fatalf("%d taps told both ways at once: %+v", n, got)
		}
	})
}

// TestOutbox runs the Outbox contract; newOutbox returns an empty outbox
// of its own.
func TestOutbox(t *testing.T, newOutbox func(t *testing.T) ports.Outbox) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	message := func(t *testing.T, user string) domain.Message {
		return domain.Message{AppID: "wxapp", OpenID: user, TemplateID: "tmpl", Page: "pages/index?x=1", MiniprogramState: "trial",
			Lang: "en_US", Data: map[string]string{"thing1": "到货了 🎸", "number2": "3"}, IdempotencyKey: uniqueID(t, "k")}
	}

	t.Run("AddsOncePerKeyAndReadsBackWhole", func(t *testing.T) {
		o := newOutbox(t)
		m := message(t, "o1")
		j, added, err := o.Add(ctx(t), m, t0)
		if err != nil || !added || j.ID == 0 || j.State != ports.JobPending || !j.CreatedAt.Equal(t0) {
			t.Fatalf("add: %+v %v %v", j, added, err)
		}
		want := m
		want.Status = domain.MessageQueued
		if !reflect.DeepEqual(j.Item, want) {
			t.Fatalf("stored %+v, want %+v", j.Item, want)
		}
		again := m
		again.Data = map[string]string{"thing1": "another body"}
		j2, added, err := o.Add(ctx(t), again, t0.Add(time.Second))
		if err != nil || added || j2.ID != j.ID || !reflect.DeepEqual(j2.Item, want) {
			t.Fatalf("the same key again: %+v %v %v", j2, added, err)
		}
		other := m
		other.AppID = "wxother"
		if _, added, err := o.Add(ctx(t), other, t0); err != nil || !added {
			t.Fatalf("the same key in another app: %v %v", added, err)
		}
		if got, err := o.ByKey(ctx(t), m.AppID, m.IdempotencyKey); err != nil || got.ID != j.ID {
			t.Fatalf("by key: %+v %v", got, err)
		}
		if _, err := o.ByKey(ctx(t), m.AppID, "nope"); domain.KindOf(err) != domain.KindNotFound {
			t.Fatalf("unknown key: %v", err)
		}
	})

	t.Run("OutcomeAndMsgIDOver2To53", func(t *testing.T) {
		o := newOutbox(t)
		j, _, err := o.Add(ctx(t), message(t, "o2"), t0)
		if err != nil {
			t.Fatal(err)
		}
		const big = int64(1)<<62 + 12345 // not a float64
		out := domain.MessageOutcome{Status: domain.MessageSent, MsgID: big, ErrCode: 0, Unknown: 1}
		if err := o.SetOutcome(ctx(t), j.ID, out); err != nil {
			t.Fatal(err)
		}
		got, err := o.ByMsgID(ctx(t), "wxapp", big)
		if err != nil || got.ID != j.ID || got.Item.MessageOutcome != out {
			t.Fatalf("by msgid: %+v %v", got, err)
		}
		if _, err := o.ByMsgID(ctx(t), "wxapp", big+1); domain.KindOf(err) != domain.KindNotFound {
			t.Fatalf("unknown msgid: %v", err)
		}
		if _, err := o.ByMsgID(ctx(t), "wxother", big); domain.KindOf(err) != domain.KindNotFound {
			t.Fatalf("msgid of another app: %v", err)
		}
	})

	t.Run("ConcurrentAddsOfOneKeyStoreOne", func(t *testing.T) {
		o := newOutbox(t)
		m := message(t, "o3")
		var mu sync.Mutex
		ids, addedN := map[int64]bool{}, 0
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j, added, err := o.Add(ctx(t), m, t0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids[j.ID] = true
				if added {
					addedN++
				}
			}()
		}
		wg.Wait()
		if len(ids) != 1 || addedN != 1 {
			t.Fatalf("ids %v, added %d times", ids, addedN)
		}
	})

	t.Run("AQueueOfLanes", func(t *testing.T) {
		o := newOutbox(t)
		a1, _, _ := o.Add(ctx(t), message(t, "oa"), t0)
		_, _, _ = o.Add(ctx(t), message(t, "oa"), t0)
		b1, _, _ := o.Add(ctx(t), message(t, "ob"), t0)
		jobs, err := o.Claim(ctx(t), "w1", 10, t0, t0.Add(time.Minute))
		if err != nil || !reflect.DeepEqual(ids(jobs), []int64{a1.ID, b1.ID}) {
			t.Fatalf("claim: %v %v (one per user, oldest first)", ids(jobs), err)
		}
		if err := o.Done(ctx(t), a1.ID, "w1", t0); err != nil {
			t.Fatal(err)
		}
		if got, _ := o.Get(ctx(t), a1.ID); got.State != ports.JobDone || got.Item.OpenID != "oa" {
			t.Fatalf("done: %+v", got)
		}
	})
}
