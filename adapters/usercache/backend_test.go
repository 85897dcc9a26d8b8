package usercache_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/adapters/usercache"
	"wxbackend/domain"
)

// The backends are held to one contract: memory for memory sessions, Redis
// for Redis sessions.

func TestMemoryBackend_Contract(t *testing.T) {
	testBackend(t, func(t *testing.T) usercache.Backend {
		return memory.NewUserCache(memory.Options{CleanupInterval: time.Minute})
	})
}

func TestRedisBackend_Contract(t *testing.T) {
	testBackend(t, func(t *testing.T) usercache.Backend { return redisStore(t).UserCache() })
}

// testBackend runs the backend contract against the backends newBackend returns.
func testBackend(t *testing.T, newBackend func(t *testing.T) usercache.Backend) {
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 9, 0, 0, 123000, time.UTC)
	user := func(openID string, id, rev int64, nick string) domain.User {
		return domain.User{ID: id, AppID: "wxapp0000000000001", OpenID: openID, UnionID: "u-" + openID, Revision: rev,
			Profile: domain.Profile{NickName: nick, AvatarURL: "https://thirdwx.qlogo.cn/a", Gender: 1, City: "广州"},
			UserSet: domain.FieldCity, Avatar: "ab.jpg", Phone: domain.Phone{Number: "13800138000", PureNumber: "13800138000", CountryCode: "86"},
			CreatedAt: at, UpdatedAt: at.Add(time.Minute)}
	}
	get := func(t *testing.T, b usercache.Backend, id domain.Identity) (domain.User, bool) {
		t.Helper()
		u, ok, err := b.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return u, ok
	}
	put := func(t *testing.T, b usercache.Backend, u domain.User, ttl time.Duration) {
		t.Helper()
		if err := b.Put(ctx, &u, ttl); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("PutThenGetGivesTheUserBack", func(t *testing.T) {
		b := newBackend(t)
		u := user("oPut", 7, 3, "Ann 😀")
		if _, ok := get(t, b, u.Identity()); ok {
			t.Fatal("a copy before any put")
		}
		put(t, b, u, time.Hour)
		got, ok := get(t, b, u.Identity())
		if !ok || got.ID != u.ID || got.Revision != u.Revision || got.Profile != u.Profile || got.Phone != u.Phone ||
			got.UnionID != u.UnionID || got.Avatar != u.Avatar || got.UserSet != u.UserSet || !got.UpdatedAt.Equal(u.UpdatedAt) {
			t.Fatalf("got %+v, want %+v", got, u)
		}
		if _, ok := get(t, b, domain.Identity{AppID: u.AppID, OpenID: "oOther"}); ok {
			t.Fatal("another user has the copy")
		}
	})

	t.Run("DropRemovesTheCopy", func(t *testing.T) {
		b := newBackend(t)
		u := user("oDrop", 7, 3, "x")
		put(t, b, u, time.Hour)
		if err := b.Drop(ctx, u.Identity()); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(t, b, u.Identity()); ok {
			t.Fatal("a dropped copy is still there")
		}
		if err := b.Drop(ctx, u.Identity()); err != nil {
			t.Fatalf("dropping none: %v", err)
		}
	})

	t.Run("PutKeepsOnlyANewerCopy", func(t *testing.T) {
		b := newBackend(t)
		put(t, b, user("oNewer", 7, 5, "five"), time.Hour)
		put(t, b, user("oNewer", 7, 4, "four"), time.Hour) // older: ignored
		put(t, b, user("oNewer", 7, 5, "five again"), time.Hour)
		if got, _ := get(t, b, user("oNewer", 0, 0, "").Identity()); got.Profile.NickName != "five" {
			t.Fatalf("after an older put: %q", got.Profile.NickName)
		}
		put(t, b, user("oNewer", 7, 6, "six"), time.Hour)
		if got, _ := get(t, b, user("oNewer", 0, 0, "").Identity()); got.Profile.NickName != "six" {
			t.Fatalf("after a newer put: %q", got.Profile.NickName)
		}
		put(t, b, user("oNewer", 8, 1, "recreated"), time.Hour) // another row: the user was deleted and made again
		if got, _ := get(t, b, user("oNewer", 0, 0, "").Identity()); got.ID != 8 || got.Profile.NickName != "recreated" {
			t.Fatalf("after a put of a new row: %d %q", got.ID, got.Profile.NickName)
		}
	})

	t.Run("ConcurrentPutsLeaveTheNewest", func(t *testing.T) {
		b := newBackend(t)
		const n = 40
		revs := rand.Perm(n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, r := range revs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := user("oRace", 7, int64(r+1), "rev")
				errs <- b.Put(ctx, &u, time.Hour)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, ok := get(t, b, user("oRace", 0, 0, "").Identity()); !ok || got.Revision != n {
			t.Fatalf("after racing puts: revision %d (%v), want %d", got.Revision, ok, n)
		}
	})

	t.Run("CopiesExpire", func(t *testing.T) {
		b := newBackend(t)
		u := user("oExpire", 7, 1, "short")
		put(t, b, u, 100*time.Millisecond)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, ok := get(t, b, u.Identity()); !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the copy outlived its TTL")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
