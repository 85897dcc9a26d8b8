package memory

import (
	"context"
	"sync"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Consents is a ports.Consents in this process (tests, one server without a
// database worth the name).
type Consents struct {
	mu sync.Mutex
	m  map[domain.ConsentKey]domain.Consent
}

var _ ports.Consents = (*Consents)(nil)

// NewConsents returns an empty ledger.
func NewConsents() *Consents { return &Consents{m: map[domain.ConsentKey]domain.Consent{}} }

// Get implements ports.Consents.
func (c *Consents) Get(_ context.Context, k domain.ConsentKey) (domain.Consent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.get(k), nil
}

func (c *Consents) get(k domain.ConsentKey) domain.Consent {
	got, ok := c.m[k]
	if !ok {
		return domain.Consent{ConsentKey: k}
	}
	return got
}

// Update implements ports.Consents: f runs under the lock.
func (c *Consents) Update(_ context.Context, k domain.ConsentKey, f func(domain.Consent) (domain.Consent, error)) (domain.Consent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := f(c.get(k))
	if err != nil {
		return domain.Consent{}, err
	}
	next.ConsentKey = k
	c.m[k] = next
	return next, nil
}

// Credit implements ports.Consents.
func (c *Consents) Credit(ctx context.Context, k domain.ConsentKey, from domain.ConsentSource, longTerm bool, now time.Time) (domain.Consent, error) {
	return c.Update(ctx, k, func(old domain.Consent) (domain.Consent, error) {
		return old.Credit(from, longTerm, now), nil
	})
}
