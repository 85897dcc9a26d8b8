package redisstore

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wxbackend/domain"
)

// UserCache keeps the user cache's copies (adapters/usercache) in Redis,
// one string per user in the user's Cluster slot, beside its sessions:
//
//	<prefix>c:{<tag>}  the copy (codec.go), with the cache's TTL
type UserCache struct {
	s *SessionStore
}

// copyKey is the key of the copy of the user of tag.
func (s *SessionStore) copyKey(tag string) string { return s.prefix + "c:{" + tag + "}" }

// UserCache returns the user cache backend on the store's Redis.
func (s *SessionStore) UserCache() *UserCache { return &UserCache{s: s} }

func (c *UserCache) key(id domain.Identity) string { return c.s.copyKey(domain.UserTag(id)) }

// Get returns the copy of id's user; a copy that does not decode is none.
func (c *UserCache) Get(ctx context.Context, id domain.Identity) (domain.User, bool, error) {
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	b, err := c.s.rdb.Get(ctx, c.key(id)).Bytes()
	if err == goredis.Nil {
		return domain.User{}, false, nil
	}
	if err != nil {
		return domain.User{}, false, fail("read cached user", err)
	}
	u, ok := decodeUser(b, id)
	return u, ok, nil
}

// userPut keeps a copy unless the one held is of the same row (bytes 10..17,
// the id) at a revision (bytes 2..9) at least the new one's.
//
//	KEYS: the copy's key; ARGV: the copy, ttl ms
var userPut = goredis.NewScript(`
local cur, new = redis.call("GET", KEYS[1]), ARGV[1]
if cur and #cur >= 17 and cur:byte(1) == new:byte(1) and cur:sub(10, 17) == new:sub(10, 17) then
  local function rev(s) local r = 0 for j = 2, 9 do r = r * 256 + s:byte(j) end return r end
  if rev(cur) >= rev(new) then return 0 end
end
redis.call("SET", KEYS[1], new, "PX", ARGV[2])
return 1`)

// Put keeps u for ttl unless a newer copy of the same row is held.
func (c *UserCache) Put(ctx context.Context, u *domain.User, ttl time.Duration) error {
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	if err := userPut.Run(ctx, c.s.rdb, []string{c.key(u.Identity())}, encodeUser(*u), ttl.Milliseconds()).Err(); err != nil {
		return fail("cache user", err)
	}
	return nil
}

// Drop removes the copy of id's user.
func (c *UserCache) Drop(ctx context.Context, id domain.Identity) error {
	ctx, cancel := c.s.bound(ctx)
	defer cancel()
	if err := c.s.rdb.Del(ctx, c.key(id)).Err(); err != nil {
		return fail("drop cached user", err)
	}
	return nil
}
