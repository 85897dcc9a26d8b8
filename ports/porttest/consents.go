package porttest

import (
	"errors"
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
			return old.Record(domain.SubscribeAccept, false, t0), boom
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
					return old.Record(domain.SubscribeAccept, false, t0), nil
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
}
