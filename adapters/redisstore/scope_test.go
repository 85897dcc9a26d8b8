package redisstore_test

import (
	"context"
	crand "crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/usercache"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// countingUsers is a user repo that counts the calls that would reach a
// database.
type countingUsers struct {
	ports.UserRepo
	calls atomic.Int64
}

func (c *countingUsers) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	c.calls.Add(1)
	return c.UserRepo.Get(ctx, id)
}

func (c *countingUsers) EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	c.calls.Add(1)
	return c.UserRepo.EnsureUser(ctx, id, unionID, now)
}

func (c *countingUsers) UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	c.calls.Add(1)
	return c.UserRepo.UpdateUser(ctx, id, update)
}

var (
	at = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	id = domain.Identity{AppID: "wxapp0000000000001", OpenID: "oScoped"}
)

func nick(name string) func(*domain.User) (bool, error) {
	return func(u *domain.User) (bool, error) {
		if u.Profile.NickName == name {
			return false, nil
		}
		u.Profile.NickName, u.UpdatedAt = name, at
		return true, nil
	}
}

// Within a request's scope, an authenticated request that changes nothing
// is one Redis round trip and no database call: the session's read brings
// the copy of its user along. Without a copy, the read says so, and the
// cache asks no second time before the database.
func TestScope_TheSessionReadBringsTheCopyAlong(t *testing.T) {
	addr := redisAddr(t)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)})
	rt := &roundTrips{}
	st.Client().AddHook(rt)
	repo := &countingUsers{UserRepo: portfake.NewUsers()}
	cache, err := usercache.New(repo, st.UserCache(), time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sessions := usercache.NewSessions(st, st)
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	sess := domain.Session{AppID: id.AppID, OpenID: id.OpenID, SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
	var raw [domain.TokenBytes]byte
	_, _ = crand.Read(raw[:])
	token := domain.NewToken(raw).WithTag(domain.UserTag(id)).Digest()
	bg := context.Background()
	if err := st.Create(bg, token, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.EnsureUser(bg, id, "", at); err != nil { // stores the user and its copy
		t.Fatal(err)
	}
	if _, err := cache.UpdateUser(bg, id, nick("Ada")); err != nil {
		t.Fatal(err)
	}
	_, _ = st.Get(bg, token) // the first use of a script loads it

	request := func(update func(*domain.User) (bool, error)) (domain.User, int64, int64) {
		t.Helper()
		ctx := usercache.WithScope(bg)
		rt0, db0 := rt.n.Load(), repo.calls.Load()
		got, err := sessions.Get(ctx, token)
		if err != nil || got.Identity() != id || got.SessionKey != key {
			t.Fatalf("session %+v, %v", got, err)
		}
		u, err := cache.UpdateUser(ctx, id, update)
		if err != nil {
			t.Fatal(err)
		}
		return u, rt.n.Load() - rt0, repo.calls.Load() - db0
	}
	if u, trips, db := request(nick("Ada")); trips != 1 || db != 0 || u.Profile.NickName != "Ada" {
		t.Fatalf("an unchanged save in a scope: %d round trips, %d database calls, %q; want 1, 0", trips, db, u.Profile.NickName)
	}
	// A change: the read, the compare-and-set write, the new copy's put.
	if u, trips, db := request(nick("Bo")); trips != 2 || db != 1 || u.Profile.NickName != "Bo" {
		t.Fatalf("a changed save in a scope: %d round trips, %d database calls, %q; want 2, 1", trips, db, u.Profile.NickName)
	}
	if u, trips, db := request(nick("Bo")); trips != 1 || db != 0 || u.Profile.NickName != "Bo" {
		t.Fatalf("the change again: %d round trips, %d database calls, %q (a stale copy?)", trips, db, u.Profile.NickName)
	}
	// No copy: the read says so, and the user comes from the database
	// without asking Redis a second time; its copy is put again.
	if err := st.UserCache().Drop(bg, id); err != nil {
		t.Fatal(err)
	}
	if u, trips, db := request(nick("Bo")); trips != 2 || db != 1 || u.Profile.NickName != "Bo" {
		t.Fatalf("without a copy: %d round trips, %d database calls, %q; want 2 (read, put), 1", trips, db, u.Profile.NickName)
	}
	// Outside a scope, the cache reads its copy itself, as before.
	rt0, db0 := rt.n.Load(), repo.calls.Load()
	if _, err := sessions.Get(bg, token); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.UpdateUser(bg, id, nick("Bo")); err != nil {
		t.Fatal(err)
	}
	if trips, db := rt.n.Load()-rt0, repo.calls.Load()-db0; trips != 2 || db != 0 {
		t.Fatalf("outside a scope: %d round trips, %d database calls; want 2, 0", trips, db)
	}
}

// Within a request's scope, a returning user's login is one Redis round
// trip and no database call: the session's write brings the copy of its
// user along, and the user lookup right after takes it. Without a copy
// (a new user), the write says so, and the user comes from the database
// without asking Redis a second time.
func TestScope_TheSessionWriteBringsTheCopyAlong(t *testing.T) {
	addr := redisAddr(t)
	st := newStore(t, redisstore.Options{Addrs: []string{addr}, KeyPrefix: prefix(t, addr)})
	rt := &roundTrips{}
	st.Client().AddHook(rt)
	repo := &countingUsers{UserRepo: portfake.NewUsers()}
	cache, err := usercache.New(repo, st.UserCache(), time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sessions := usercache.NewSessions(st, st)
	key, _ := domain.ParseSessionKey("tiihtNczf5v6AKRyjwEUhQ==")
	bg := context.Background()
	login := func(ctx context.Context) (domain.User, int64, int64) {
		t.Helper()
		var raw [domain.TokenBytes]byte
		_, _ = crand.Read(raw[:])
		token := domain.NewToken(raw).WithTag(domain.UserTag(id)).Digest()
		sess := domain.Session{AppID: id.AppID, OpenID: id.OpenID, SessionKey: key, ExpiresAt: time.Now().Add(time.Hour)}
		rt0, db0 := rt.n.Load(), repo.calls.Load()
		if err := sessions.Create(ctx, token, sess); err != nil {
			t.Fatal(err)
		}
		u, err := cache.EnsureUser(ctx, id, "", at)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := st.Get(bg, token); err != nil || got.Identity() != id {
			t.Fatalf("the login's session: %+v, %v", got, err)
		}
		return u, rt.n.Load() - rt0, repo.calls.Load() - db0
	}
	login(bg) // the first use of the script loads it
	if _, err := cache.UpdateUser(bg, id, nick("Ada")); err != nil {
		t.Fatal(err)
	}
	// The counts include the check's read of the session.
	if u, trips, db := login(usercache.WithScope(bg)); trips != 2 || db != 0 || u.Profile.NickName != "Ada" {
		t.Fatalf("a returning login in a scope: %d round trips, %d database calls, %q; want 1+1, 0", trips, db, u.Profile.NickName)
	}
	if err := st.UserCache().Drop(bg, id); err != nil {
		t.Fatal(err)
	}
	if u, trips, db := login(usercache.WithScope(bg)); trips != 3 || db != 1 || u.Profile.NickName != "Ada" {
		t.Fatalf("without a copy: %d round trips, %d database calls, %q; want 1 (write), 1 (put) +1, 1", trips, db, u.Profile.NickName)
	}
	// Outside a scope, the cache reads its copy itself, as before.
	if u, trips, db := login(bg); trips != 3 || db != 0 || u.Profile.NickName != "Ada" {
		t.Fatalf("outside a scope: %d round trips, %d database calls, %q; want 2+1, 0", trips, db, u.Profile.NickName)
	}
}
