package usercache_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/system"
	"wxbackend/adapters/testenv"
	"wxbackend/adapters/usercache"
	"wxbackend/domain"
)

// redisStore is a Redis session store with a key prefix of the test's own.
func redisStore(t *testing.T) *redisstore.SessionStore {
	t.Helper()
	addr := testenv.Get("WXB_TEST_REDIS_ADDR", "127.0.0.1:6379")
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		testenv.Unreachable(t, "Redis", err)
	}
	var b [6]byte
	_, _ = crand.Read(b[:])
	p := "wxbtest:" + hex.EncodeToString(b[:]) + ":"
	st, err := redisstore.NewSessionStore(redisstore.Options{Addrs: []string{addr}, KeyPrefix: p, Timeout: 2 * time.Second}, 0, 0, system.Clock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := c.Keys(ctx, p+"*").Result(); len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		st.Close()
	})
	return st
}

// A scope's copy answers one lookup of its own user only: another user's
// lookup, and the same user's second, ask the backend.
func TestScope_ACopyAnswersItsUserOnce(t *testing.T) {
	st := redisStore(t)
	repo := openRepo(t)
	cache := newCache(t, repo, st.UserCache(), nil)
	other := domain.Identity{AppID: id.AppID, OpenID: "oOther"}
	bg := context.Background()
	for _, who := range []domain.Identity{id, other} {
		if _, err := cache.EnsureUser(bg, who, "", at); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	var raw [domain.TokenBytes]byte
	_, _ = crand.Read(raw[:])
	token := domain.NewToken(raw).WithTag(domain.UserTag(id)).Digest()
	if err := st.Create(bg, token, domain.Session{AppID: id.AppID, OpenID: id.OpenID, SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ctx := usercache.WithScope(bg)
	if _, err := usercache.NewSessions(st, st).Get(ctx, token); err != nil {
		t.Fatal(err)
	}
	// Behind the scope's back, the user changes (another server's write).
	if _, err := cache.UpdateUser(bg, id, nick("Changed")); err != nil {
		t.Fatal(err)
	}
	if u, err := cache.Get(ctx, other); err != nil || u.OpenID != "oOther" {
		t.Fatalf("another user in the scope: %+v, %v", u, err)
	}
	first, err := cache.Get(ctx, id)
	if err != nil || first.Profile.NickName != "" {
		t.Fatalf("the first lookup takes what the session read brought: %q, %v", first.Profile.NickName, err)
	}
	if second, err := cache.Get(ctx, id); err != nil || second.Profile.NickName != "Changed" {
		t.Fatalf("the second lookup asks the backend: %q, %v", second.Profile.NickName, err)
	}
}
