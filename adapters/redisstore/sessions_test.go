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
	"sync"
	"sync/atomic"
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
// by the token's SHA-256 only, every key of a user (its tokens included) in
// its tag's slot, and no token, openid or session key in any key name.
func TestKeyLayout_HoldsNoTokenAndFitsCluster(t *testing.T) {
	addr := redisAddr(t)
	p := prefix(t, addr)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: p})
	var b [domain.TokenBytes]byte
	_, _ = rand.Read(b[:])
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	s := domain.Session{AppID: "wx4f4bc4dec97d474b", OpenID: "oGZUI0egBJY1zhBYw2KhdUfwVJJE", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
	tag := domain.UserTag(s.Identity())
	tok := domain.NewToken(b).WithTag(tag)
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
		p + "t:{" + tag + "}:" + base64.RawURLEncoding.EncodeToString(sum[:]): true,
		p + "u:{" + tag + "}":   true,
		p + "u:{" + tag + "}:t": true, // one slot: {tag}
	}
	if len(keys) != len(want) {
		t.Fatalf("keys %q, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] {
			t.Fatalf("unexpected key %q", k)
		}
		if strings.Contains(k, tok.Reveal()[:43]) || strings.Contains(k, s.OpenID) {
			t.Fatal("a key holds the raw token or the openid")
		}
		if v, err := c.Dump(ctx, k).Result(); err != nil || strings.Contains(v, tok.Reveal()[:43]) {
			t.Fatalf("the value of %s holds the raw token (%v)", k, err)
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
			t.Fatalf("%s expires in %v, want an hour", k, ttl)
		}
	}
	t.Logf("bytes per session: token key %d, user key %d (MEMORY USAGE)",
		c.MemoryUsage(ctx, keys[0]).Val(), c.MemoryUsage(ctx, keys[1]).Val())
}

// roundTrips counts the client's round trips to Redis: a command, or a
// pipeline, each.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (r *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// A session of a tagged token is created, read (with sliding expiry too)
// and deleted in one round trip each.
func TestTaggedTokens_OneRoundTripEach(t *testing.T) {
	addr := redisAddr(t)
	for _, sliding := range []time.Duration{0, time.Hour} {
		st, err := redisstore.NewSessionStore(redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr), Timeout: 2 * time.Second}, sliding, 3, system.Clock{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		rt := &roundTrips{}
		st.Client().AddHook(rt)
		ctx := context.Background()
		key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
		s := domain.Session{AppID: "wxapp", OpenID: "oOnce", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
		digest := func() domain.TokenDigest {
			var b [domain.TokenBytes]byte
			_, _ = rand.Read(b[:])
			return domain.NewToken(b).WithTag(domain.UserTag(s.Identity())).Digest()
		}
		warm := digest() // the first use of a script loads it
		_ = st.Create(ctx, warm, s)
		_, _ = st.Get(ctx, warm)
		_ = st.Delete(ctx, warm)
		id := digest()
		for _, c := range []struct {
			name string
			call func() error
		}{
			{"create", func() error { return st.Create(ctx, id, s) }},
			{"get", func() error { _, err := st.Get(ctx, id); return err }},
		} {
			name, call := c.name, c.call
			before := rt.n.Load()
			if err := call(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if n := rt.n.Load() - before; n != 1 {
				t.Errorf("sliding %v: %s took %d round trips, want 1", sliding, name, n)
			}
		}
		before := rt.n.Load()
		if err := st.Delete(ctx, id); err != nil || rt.n.Load()-before != 1 {
			t.Errorf("sliding %v: delete: %v, %d round trips", sliding, err, rt.n.Load()-before)
		}
	}
}

// The user cache's copy is read, put (only if newer) and dropped in one
// round trip each: an unchanged profile save is the session's read and
// this read, two round trips.
func TestUserCache_OneRoundTripEach(t *testing.T) {
	addr := redisAddr(t)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)})
	rt := &roundTrips{}
	st.Client().AddHook(rt)
	ctx := context.Background()
	c := st.UserCache()
	u := domain.User{ID: 1, AppID: "wxapp", OpenID: "oCached", Revision: 2, Profile: domain.Profile{NickName: "n"}}
	_ = c.Put(ctx, &u, time.Hour) // the first use of a script loads it
	for _, step := range []struct {
		name string
		call func() error
	}{
		{"put", func() error { u.Revision++; return c.Put(ctx, &u, time.Hour) }},
		{"get", func() error {
			got, ok, err := c.Get(ctx, u.Identity())
			if err == nil && (!ok || got.Revision != u.Revision) {
				err = fmt.Errorf("got %+v, %v", got, ok)
			}
			return err
		}},
		{"drop", func() error { return c.Drop(ctx, u.Identity()) }},
	} {
		before := rt.n.Load()
		if err := step.call(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if n := rt.n.Load() - before; n != 1 {
			t.Errorf("%s took %d round trips, want 1", step.name, n)
		}
	}
}

// A token whose tag names another user, or without a tag, is refused at
// creation.
func TestCreate_RefusesATagOfAnotherUser(t *testing.T) {
	addr := redisAddr(t)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)})
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	var b [domain.TokenBytes]byte
	id := domain.NewToken(b).WithTag(domain.UserTag(domain.Identity{AppID: "wxapp", OpenID: "someone"})).Digest()
	err := st.Create(context.Background(), id, domain.Session{AppID: "wxapp", OpenID: "else", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)})
	if domain.KindOf(err) != domain.KindInternal {
		t.Fatalf("created: %v", err)
	}
	untagged := domain.NewToken(b).Digest()
	err = st.Create(context.Background(), untagged, domain.Session{AppID: "wxapp", OpenID: "else", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)})
	if domain.KindOf(err) != domain.KindInternal {
		t.Fatalf("created an untagged token: %v", err)
	}
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
	down := domain.Session{AppID: "wxA", OpenID: "oDown", ExpiresAt: time.Now().Add(time.Hour)}
	id := domain.NewToken(b).WithTag(domain.UserTag(down.Identity())).Digest()
	down.SessionKey, _ = domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	if err := st.Create(ctx, id, down); err != nil {
		t.Fatal(err)
	}

	proxy.Down()
	for _, call := range []func() error{
		func() error { _, err := st.Get(ctx, id); return err },
		func() error { return st.Ping(ctx) },
		func() error { return st.Delete(ctx, id) },
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
	tag := domain.UserTag(s.Identity())
	a := domain.TokenDigest{Sum: sha256.Sum256([]byte("a")), Tag: tag}
	b := domain.TokenDigest{Sum: sha256.Sum256([]byte("b")), Tag: tag}
	for _, id := range []domain.TokenDigest{a, b} {
		if err := st.Create(ctx, id, s); err != nil {
			t.Fatal(err)
		}
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	userKeys := func() int64 {
		n, err := c.Exists(ctx, p+"u:{"+tag+"}", p+"u:{"+tag+"}:t").Result()
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
					if err := st.Create(ctx, domain.TokenDigest{Sum: sha256.Sum256(tok[:]), Tag: domain.UserTag(s.Identity())}, s); err != nil {
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

// Logging out everywhere while the user logs in on other devices leaves no
// token outside the user's set: a record outside it would be refused while
// the user's hash is gone, work again after their next login, and escape the
// per-user cap, users logout and users delete (issue 23 item 8). Six devices
// log in while another logs out everywhere, over and over.
func TestDeleteAll_RacingLoginsLeaveNoTokenOutsideTheUsersSet(t *testing.T) {
	addr := redisAddr(t)
	p := prefix(t, addr)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: p})
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	s := domain.Session{AppID: "wxapp", OpenID: "oRacer", SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
	tag := domain.UserTag(s.Identity())
	ctx := context.Background()
	const devices, logins = 6, 150
	done := make(chan struct{})
	errs := make(chan error, devices+1)
	var loggedIn sync.WaitGroup
	for d := 0; d < devices; d++ {
		loggedIn.Add(1)
		go func() {
			defer loggedIn.Done()
			for i := 0; i < logins; i++ {
				id := domain.TokenDigest{Sum: sha256.Sum256([]byte(fmt.Sprintf("device %d login %d", d, i))), Tag: tag}
				if err := st.Create(ctx, id, s); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := st.DeleteAll(ctx, s.Identity()); err != nil {
				errs <- err
				return
			}
		}
	}()
	loggedIn.Wait()
	close(stop)
	<-done
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	records, err := c.Keys(ctx, p+"t:{"+tag+"}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	members, err := c.ZRange(ctx, p+"u:{"+tag+"}:t", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	inSet := map[string]bool{}
	for _, m := range members {
		inSet[m] = true
	}
	outside := 0
	for _, r := range records {
		if !inSet[r] {
			outside++
		}
	}
	if outside > 0 {
		t.Fatalf("%d of %d token records are outside the user's set", outside, len(records))
	}
	if err := st.DeleteAll(ctx, s.Identity()); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Keys(ctx, p+"t:{"+tag+"}:*").Result(); len(n) != 0 {
		t.Fatalf("%d token records survive logging out everywhere", len(n))
	}
}
