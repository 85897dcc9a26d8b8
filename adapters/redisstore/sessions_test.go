package redisstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/system"
	"wxbackend/adapters/testenv"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/porttest"
)

// redisAddr returns the test Redis server, failing under CI and skipping
// elsewhere when none answers.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := testenv.Get("WXB_TEST_REDIS_ADDR", "127.0.0.1:6379")
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: 2 * time.Second})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		testenv.Unreachable(t, "Redis", err)
	}
	return addr
}

// prefix returns a key prefix of the test's own, whose keys are deleted at its end.
func prefix(t testing.TB, addr string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "wxbtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		defer c.Close()
		ctx := context.Background()
		keys, _ := c.Keys(ctx, p+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return p
}

func newStore(t *testing.T, o redisstore.Options) *redisstore.SessionStore {
	t.Helper()
	return newSlidingStore(t, o, 0)
}

func newSlidingStore(t *testing.T, o redisstore.Options, sliding time.Duration) *redisstore.SessionStore {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	st, err := redisstore.NewSessionStore(o, sliding, 0, system.Clock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSessionStore_Contract(t *testing.T) {
	addr := redisAddr(t)
	porttest.TestSessionStore(t, porttest.SessionHarness{
		New: func(t *testing.T) ports.SessionStore {
			return newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)})
		},
		NewSliding: func(t *testing.T, sliding time.Duration) ports.SessionStore {
			return newSlidingStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)}, sliding)
		},
		NewCapped: func(t *testing.T, max int) ports.SessionStore {
			st, err := redisstore.NewSessionStore(redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr), Timeout: 2 * time.Second}, 0, max, system.Clock{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		Now:    time.Now,
		Elapse: func(time.Duration) {},
	})
}

// TestKeyLayout_HoldsNoTokenAndFitsCluster checks what lands in Redis: keys
// by the token's SHA-256 only, the user's key hash-tagged, and no token or
// session key in any key name.
func TestKeyLayout_HoldsNoTokenAndFitsCluster(t *testing.T) {
	addr := redisAddr(t)
	p := prefix(t, addr)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: p})
	var b [domain.TokenBytes]byte
	_, _ = rand.Read(b[:])
	tok := domain.NewToken(b)
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	s := domain.Session{AppID: "wx4f4bc4dec97d474b", OpenID: "oGZUI0egBJY1zhBYw2KhdUfwVJJE", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.Create(context.Background(), tok.Digest(), s); err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	keys, err := c.Keys(ctx, p+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tok.Reveal()))
	want := map[string]bool{
		p + "t:" + base64.RawURLEncoding.EncodeToString(sum[:]):     true,
		p + "u:{wx4f4bc4dec97d474b:oGZUI0egBJY1zhBYw2KhdUfwVJJE}":   true,
		p + "u:{wx4f4bc4dec97d474b:oGZUI0egBJY1zhBYw2KhdUfwVJJE}:t": true, // the same slot
	}
	if len(keys) != len(want) {
		t.Fatalf("keys %q, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("unexpected key %q", k)
		}
		if strings.Contains(k, tok.Reveal()) {
			t.Fatal("a key holds the raw token")
		}
		if v, err := c.Dump(ctx, k).Result(); err != nil || strings.Contains(v, tok.Reveal()) {
			t.Fatalf("the value of %s holds the raw token (%v)", k, err)
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("%s expires in %v, want an hour", k, ttl)
		}
	}
	t.Logf("bytes per session: token key %d, user key %d (MEMORY USAGE)",
		c.MemoryUsage(ctx, keys[0]).Val(), c.MemoryUsage(ctx, keys[1]).Val())
}

// TestRedisDown_IsUnavailableInBoundedTimeAndRecovers cuts Redis off through a
// proxy, then restores it.
func TestRedisDown_IsUnavailableInBoundedTimeAndRecovers(t *testing.T) {
	addr := redisAddr(t)
	proxy := tcpproxy.Start(t, addr)
	before := runtime.NumGoroutine()
	st, err := redisstore.NewSessionStore(redisstore.Options{Addrs: []string{proxy.Addr()}, KeyPrefix: prefix(t, addr), Timeout: 500 * time.Millisecond}, 0, 0, system.Clock{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var b [domain.TokenBytes]byte
	_, _ = rand.Read(b[:])
	id := domain.NewToken(b).Digest()
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	if err := st.Create(ctx, id, domain.Session{AppID: "wxA", OpenID: "oDown", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	proxy.Down()
	for _, call := range []func() error{
		func() error { _, err := st.Get(ctx, id); return err },
		func() error { return st.Ping(ctx) },
		func() error { return st.Delete(ctx, domain.TokenDigest{}) },
	} {
		start := time.Now()
		if err := call(); domain.KindOf(err) != domain.KindUnavailable {
			t.Fatalf("with Redis gone: %v, want unavailable", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %v with a 500ms timeout", d)
		}
	}

	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := st.Get(ctx, id)
		if err == nil && got.OpenID == "oDown" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after Redis returned: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st.Close()
	// Closing leaves no goroutine of the store behind.
	deadline = time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after close, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func BenchmarkSessionStore(b *testing.B) {
	addr := redisAddr(b)
	st, err := redisstore.NewSessionStore(redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(b, addr), Timeout: 2 * time.Second}, 0, 0, system.Clock{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	porttest.BenchSessionStore(b, st, 10_000)
}

func TestRateLimiter_Contract(t *testing.T) {
	addr := redisAddr(t)
	porttest.TestRateLimiter(t, func(t *testing.T, rate int, period time.Duration) ports.RateLimiter {
		st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)})
		return st.RateLimiter("test", rate, period)
	})
}

func TestTokenCache_Contract(t *testing.T) {
	addr := redisAddr(t)
	porttest.TestTokenCache(t, func(t *testing.T) ports.TokenCache {
		return newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)}).TokenCache()
	}, time.Now)
}

// A user's keys never outlive its tokens: deleting the last token deletes
// them, deleting one of two keeps them.
func TestDelete_TheLastTokenTakesTheUsersKeys(t *testing.T) {
	addr := redisAddr(t)
	p := prefix(t, addr)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: p})
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	s := domain.Session{AppID: "wxapp", OpenID: "oLast", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
	ctx := context.Background()
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	for _, id := range []domain.TokenDigest{a, b} {
		if err := st.Create(ctx, id, s); err != nil {
			t.Fatal(err)
		}
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	userKeys := func() int64 {
		n, err := c.Exists(ctx, p+"u:{wxapp:oLast}", p+"u:{wxapp:oLast}:t").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := st.Delete(ctx, a); err != nil || userKeys() != 2 {
		t.Fatalf("after deleting one of two tokens: %v, %d user keys", err, userKeys())
	}
	if _, err := st.Get(ctx, b); err != nil {
		t.Fatalf("the other token: %v", err)
	}
	if err := st.Delete(ctx, b); err != nil || userKeys() != 0 {
		t.Fatalf("after deleting the last token: %v, %d user keys", err, userKeys())
	}
}

// BenchmarkRedisBytesPerSession fills Redis with 20,000 live sessions of
// distinct users (each a token key and a user hash, as a login writes them)
// and reports what they add to Redis's used_memory: the figure make bench's
// scale estimate multiplies by. Run it with -benchtime=1x on an otherwise
// idle Redis.
func BenchmarkRedisBytesPerSession(b *testing.B) {
	const n, workers = 100_000, 16
	addr := redisAddr(b)
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	key, _ := domain.ParseSessionKey(base64.StdEncoding.EncodeToString(make([]byte, 16)))
	for b.Loop() {
		st, err := redisstore.NewSessionStore(redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(b, addr), Timeout: 5 * time.Second}, 0, 0, system.Clock{})
		if err != nil {
			b.Fatal(err)
		}
		keys0, err := c.DBSize(ctx).Result()
		if err != nil {
			b.Fatal(err)
		}
		before := usedMemory(b, c)
		expires := time.Now().Add(time.Hour)
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			go func() {
				for i := w; i < n; i += workers {
					var tok [32]byte
					_, _ = rand.Read(tok[:])
					s := domain.Session{AppID: "wxbench00000000001", OpenID: fmt.Sprintf("oBench%022d", i), UnionID: fmt.Sprintf("uBench%022d", i), SessionKey: key, ExpiresAt: expires}
					if err := st.Create(ctx, sha256.Sum256(tok[:]), s); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for w := 0; w < workers; w++ {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		after := usedMemory(b, c)
		keys1, err := c.DBSize(ctx).Result()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(after-before)/n, "B/session")
		b.ReportMetric(float64(keys1-keys0)/n, "keys/session")
		st.Close()
	}
}

// usedMemory reads used_memory from Redis's INFO memory.
func usedMemory(b *testing.B, c *goredis.Client) int64 {
	b.Helper()
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}
