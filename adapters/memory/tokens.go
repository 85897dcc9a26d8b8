package memory

import (
	"context"
	"sync"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// TokenCache implements ports.TokenCache in this process: with one server,
// the token needs no sharing.
type TokenCache struct {
	clock ports.Clock

	mu     sync.Mutex
	tokens map[string]domain.CachedToken
	locks  map[string]heldLock
	forced map[string]int // "appid|day" → forced refreshes
	nextID uint64
}

type heldLock struct {
	id    uint64
	until time.Time
}

var _ ports.TokenCache = (*TokenCache)(nil)

// NewTokenCache returns an empty cache whose locks expire on clock.
func NewTokenCache(clock ports.Clock) *TokenCache {
	return &TokenCache{clock: clock, tokens: map[string]domain.CachedToken{}, locks: map[string]heldLock{}, forced: map[string]int{}}
}

// Get implements ports.TokenCache.
func (c *TokenCache) Get(_ context.Context, appID string) (domain.CachedToken, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[appID]
	if ok && !c.clock.Now().Before(t.ExpiresAt) {
		delete(c.tokens, appID)
		return domain.CachedToken{}, false, nil
	}
	return t, ok, nil
}

// Put implements ports.TokenCache.
func (c *TokenCache) Put(_ context.Context, appID string, t domain.CachedToken) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens[appID] = t
	return nil
}

// Drop implements ports.TokenCache.
func (c *TokenCache) Drop(_ context.Context, appID string, rejected domain.AccessToken) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[appID]; ok && t.Token == rejected {
		delete(c.tokens, appID)
	}
	return nil
}

// Lock implements ports.TokenCache.
func (c *TokenCache) Lock(_ context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if l, ok := c.locks[appID]; ok && now.Before(l.until) {
		return nil, false, nil
	}
	c.nextID++
	id := c.nextID
	c.locks[appID] = heldLock{id: id, until: now.Add(ttl)}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l, ok := c.locks[appID]; ok && l.id == id {
			delete(c.locks, appID)
		}
	}, true, nil
}

// CountForceRefresh implements ports.TokenCache. Days other than the last
// one counted are forgotten.
func (c *TokenCache) CountForceRefresh(_ context.Context, appID, day string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := appID + "|" + day
	if _, ok := c.forced[key]; !ok {
		for k := range c.forced {
			if len(k) > len(appID) && k[:len(appID)+1] == appID+"|" {
				delete(c.forced, k)
			}
		}
	}
	c.forced[key]++
	return c.forced[key], nil
}
