package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wxbackend/domain"
	"wxbackend/ports"
)

// TokenCache implements ports.TokenCache in Redis, so every server uses one
// access token and one server at a time refreshes it. Keys (all of one app
// in one Cluster slot):
//
//	<prefix>at:{<appid>}          the token, its expiry and refresh time (JSON), expiring with it
//	<prefix>at:{<appid>}:lock     the refresh lock: a random holder id, with a TTL
//	<prefix>at:{<appid>}:force:<day>  forced refreshes that day, expiring after two days
type TokenCache struct {
	s *SessionStore
}

var _ ports.TokenCache = (*TokenCache)(nil)

// TokenCache returns the access-token cache on the store's Redis.
func (s *SessionStore) TokenCache() *TokenCache { return &TokenCache{s: s} }

type cachedJSON struct {
	Token     string    `json:"t"`
	ExpiresAt time.Time `json:"e"`
	RefreshAt time.Time `json:"r"`
}

func (c *TokenCache) key(appID string) string { return c.s.prefix + "at:{" + appID + "}" }

// Get implements ports.TokenCache.
func (c *TokenCache) Get(ctx context.Context, appID string) (domain.CachedToken, bool, error) {
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	raw, err := c.s.rdb.Get(ctx, c.key(appID)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return domain.CachedToken{}, false, nil
	}
	if err != nil {
		return domain.CachedToken{}, false, fail("read access token", err)
	}
	var j cachedJSON
	if err := json.Unmarshal(raw, &j); err != nil || j.Token == "" {
		return domain.CachedToken{}, false, nil // unreadable: fetch anew
	}
	t := domain.CachedToken{Token: domain.NewAccessToken(j.Token), ExpiresAt: j.ExpiresAt, RefreshAt: j.RefreshAt}
	if !c.s.clock.Now().Before(t.ExpiresAt) {
		return domain.CachedToken{}, false, nil
	}
	return t, true, nil
}

// Put implements ports.TokenCache.
func (c *TokenCache) Put(ctx context.Context, appID string, t domain.CachedToken) error {
	ttl := t.ExpiresAt.Sub(c.s.clock.Now())
	if ttl <= 0 {
		return nil
	}
	b, _ := json.Marshal(cachedJSON{Token: t.Token.Reveal(), ExpiresAt: t.ExpiresAt.UTC(), RefreshAt: t.RefreshAt.UTC()})
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	if err := c.s.rdb.Set(ctx, c.key(appID), b, ttl).Err(); err != nil {
		return fail("cache access token", err)
	}
	return nil
}

// dropIfToken deletes the token key if it still holds the rejected token.
var dropIfToken = goredis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and cjson.decode(v)["t"] == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

// Drop implements ports.TokenCache.
func (c *TokenCache) Drop(ctx context.Context, appID string, rejected domain.AccessToken) error {
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	if err := dropIfToken.Run(ctx, c.s.rdb, []string{c.key(appID)}, rejected.Reveal()).Err(); err != nil {
		return fail("drop access token", err)
	}
	return nil
}

// unlockIfHolder deletes the lock if this holder still has it.
var unlockIfHolder = goredis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

// Lock implements ports.TokenCache with SET NX PX and a random holder id.
func (c *TokenCache) Lock(ctx context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, false, domain.Wrap(domain.KindInternal, err)
	}
	holder := hex.EncodeToString(b[:])
	key := c.key(appID) + ":lock"
	bctx, cancel := c.s.bound(ctx)
	defer cancel()
	ok, err := c.s.rdb.SetNX(bctx, key, holder, ttl).Result()
	if err != nil {
		return nil, false, fail("access token lock", err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() {
		uctx, cancel := c.s.bound(context.WithoutCancel(ctx))
		defer cancel()
		_ = unlockIfHolder.Run(uctx, c.s.rdb, []string{key}, holder).Err() // it expires anyway
	}, true, nil
}

// CountForceRefresh implements ports.TokenCache.
func (c *TokenCache) CountForceRefresh(ctx context.Context, appID, day string) (int, error) {
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	key := c.key(appID) + ":force:" + day
	var incr *goredis.IntCmd
	_, err := c.s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.Expire(ctx, key, 48*time.Hour)
		return nil
	})
	if err != nil {
		return 0, fail("count forced refreshes", err)
	}
	return int(incr.Val()), nil
}
