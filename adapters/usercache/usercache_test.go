package usercache_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/adapters/memory"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/usercache"
	"wxbackend/domain"
	"wxbackend/ports"
)

// counting is a real user repo (SQLite) that counts its calls.
type counting struct {
	*sqlstore.UserRepo
	calls atomic.Int64
}

func (c *counting) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	c.calls.Add(1)
	return c.UserRepo.Get(ctx, id)
}

func (c *counting) EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	c.calls.Add(1)
	return c.UserRepo.EnsureUser(ctx, id, unionID, now)
}

func (c *counting) UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	c.calls.Add(1)
	return c.UserRepo.UpdateUser(ctx, id, update)
}

func (c *counting) UpdateUserFrom(ctx context.Context, seen, next domain.User, update func(*domain.User) (bool, error)) (domain.User, error) {
	c.calls.Add(1)
	return c.UserRepo.UpdateUserFrom(ctx, seen, next, update)
}

// failing is a backend whose puts fail on demand.
type failing struct {
	usercache.Backend
	failPuts atomic.Bool
}

func (f *failing) Put(ctx context.Context, u *domain.User, ttl time.Duration) error {
	if f.failPuts.Load() {
		return errors.New("cache down")
	}
	return f.Backend.Put(ctx, u, ttl)
}

// openRepo returns a migrated SQLite user repo of the test's own.
func openRepo(t *testing.T) *counting {
	t.Helper()
	st, err := sqlstore.Open(sqlstore.Options{Driver: "sqlite", DSN: sqlstore.DSN("file:" + filepath.Join(t.TempDir(), "users.db")), QueryTimeout: 30 * time.Second}) // racing writers queue for SQLite's one write lock: generous under -race on a loaded machine
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &counting{UserRepo: st.Users}
}

func newBackend() usercache.Backend {
	return memory.NewUserCache(memory.Options{CleanupInterval: time.Minute})
}

func newCache(t *testing.T, inner ports.UserRepo, b usercache.Backend, log *slog.Logger) *usercache.Repo {
	t.Helper()
	r, err := usercache.New(inner, b, time.Hour, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	at = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	id = domain.Identity{AppID: "wxapp0000000000001", OpenID: "oCache"}
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

// A returning user's login and an unchanged profile need no database; a
// changed profile is one write, from the copy.
func TestCache_UnchangedNeedsNoDatabaseAndAChangeWritesOnce(t *testing.T) {
	ctx := context.Background()
	repo := openRepo(t)
	c := newCache(t, repo, newBackend(), nil)
	if _, err := c.EnsureUser(ctx, id, "u1", at); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUser(ctx, id, nick("Ann")); err != nil {
		t.Fatal(err)
	}
	calls := repo.calls.Load()
	for name, call := range map[string]func() (domain.User, error){
		"login":             func() (domain.User, error) { return c.EnsureUser(ctx, id, "u1", at) },
		"login, no unionid": func() (domain.User, error) { return c.EnsureUser(ctx, id, "", at) },
		"unchanged profile": func() (domain.User, error) { return c.UpdateUser(ctx, id, nick("Ann")) },
		"get":               func() (domain.User, error) { return c.Get(ctx, id) },
	} {
		u, err := call()
		if err != nil || u.Profile.NickName != "Ann" || u.UnionID != "u1" {
			t.Fatalf("%s: %+v, %v", name, u, err)
		}
		if n := repo.calls.Load() - calls; n != 0 {
			t.Fatalf("%s: %d database calls, want none", name, n)
		}
	}
	before, _ := repo.UserRepo.Get(ctx, id)
	runs := 0
	u, err := c.UpdateUser(ctx, id, func(u *domain.User) (bool, error) { runs++; return nick("Bea")(u) })
	if err != nil || u.Profile.NickName != "Bea" {
		t.Fatalf("changed: %+v, %v", u, err)
	}
	if runs != 1 {
		t.Fatalf("the update ran %d times, want once (on the copy; its result is written)", runs)
	}
	if n := repo.calls.Load() - calls; n != 1 {
		t.Fatalf("a change took %d database calls, want 1 (the compare-and-set write)", n)
	}
	stored, _ := repo.UserRepo.Get(ctx, id)
	if stored.Profile.NickName != "Bea" || stored.Revision != before.Revision+1 || u.Revision != stored.Revision {
		t.Fatalf("stored %q at revision %d (was %d, answered %d)", stored.Profile.NickName, stored.Revision, before.Revision, u.Revision)
	}
	// Another unionid from WeChat is recorded.
	if u, err := c.EnsureUser(ctx, id, "u2", at); err != nil || u.UnionID != "u2" {
		t.Fatalf("a new unionid: %+v, %v", u, err)
	}
	if u, err := c.Get(ctx, id); err != nil || u.UnionID != "u2" {
		t.Fatalf("the copy after a new unionid: %+v, %v", u, err)
	}
}

// Two servers with copies of their own (stale for each other) update one
// user at once: every update lands, as the write from a stale copy falls
// back to reading the user.
func TestCache_RacingUpdatesFromTwoCachesLoseNothing(t *testing.T) {
	ctx := context.Background()
	repo := openRepo(t)
	a, b := newCache(t, repo, newBackend(), nil), newCache(t, repo, newBackend(), nil)
	if _, err := a.EnsureUser(ctx, id, "", at); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EnsureUser(ctx, id, "", at); err != nil {
		t.Fatal(err)
	}
	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for _, c := range []*usercache.Repo{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := c.UpdateUser(ctx, id, func(u *domain.User) (bool, error) {
					u.Profile.City += "x"
					return true, nil
				})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	stored, err := repo.UserRepo.Get(ctx, id)
	if err != nil || len(stored.Profile.City) != 2*each {
		t.Fatalf("%d of %d updates landed (%v)", len(stored.Profile.City), 2*each, err)
	}
	for name, c := range map[string]*usercache.Repo{"a": a, "b": b} {
		u, err := c.UpdateUser(ctx, id, func(u *domain.User) (bool, error) { return false, nil })
		if err != nil || u.Revision > stored.Revision {
			t.Fatalf("%s: copy at revision %d, stored %d (%v)", name, u.Revision, stored.Revision, err)
		}
	}
}

// A user deleted behind the cache's back: the next write finds it gone
// (KindNotFound) and drops the copy, and the next login recreates it.
func TestCache_UserDeletedBehindItsBackIsRecreatedAtNextLogin(t *testing.T) {
	ctx := context.Background()
	repo := openRepo(t)
	c := newCache(t, repo, newBackend(), nil)
	first, err := c.EnsureUser(ctx, id, "", at)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.UserRepo.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateUser(ctx, id, nick("Changed"))
	if domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("a change to a deleted user: %v", err)
	}
	again, err := c.EnsureUser(ctx, id, "", at)
	if err != nil || again.ID == first.ID {
		t.Fatalf("the next login: %+v (was id %d), %v", again, first.ID, err)
	}
	if stored, err := repo.UserRepo.Get(ctx, id); err != nil || stored.ID != again.ID {
		t.Fatalf("the user was not recreated: %+v, %v", stored, err)
	}
}

// Delete removes the copy with the user.
func TestCache_DeleteDropsTheCopy(t *testing.T) {
	ctx := context.Background()
	repo := openRepo(t)
	c := newCache(t, repo, newBackend(), nil)
	if _, err := c.EnsureUser(ctx, id, "", at); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, id); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("get after delete: %v", err)
	}
}

// A copy that cannot be kept after a write is dropped, and logged: the
// next read is the database's, not the stale copy.
func TestCache_AFailedPutLeavesNoStaleCopy(t *testing.T) {
	ctx := context.Background()
	repo := openRepo(t)
	b := &failing{Backend: newBackend()}
	var log bytes.Buffer
	c := newCache(t, repo, b, slog.New(slog.NewTextHandler(&log, nil)))
	if _, err := c.EnsureUser(ctx, id, "", at); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateUser(ctx, id, nick("Old")); err != nil {
		t.Fatal(err)
	}
	b.failPuts.Store(true)
	if _, err := c.UpdateUser(ctx, id, nick("New")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "cache down") {
		t.Fatalf("the failed put was not logged: %s", &log)
	}
	b.failPuts.Store(false)
	if u, err := c.Get(ctx, id); err != nil || u.Profile.NickName != "New" {
		t.Fatalf("get after a failed put: %q, %v", u.Profile.NickName, err)
	}
	// The old profile again is a change to write, not the stale copy's answer.
	if _, err := c.UpdateUser(ctx, id, nick("Old")); err != nil {
		t.Fatal(err)
	}
	if stored, _ := repo.UserRepo.Get(ctx, id); stored.Profile.NickName != "Old" {
		t.Fatalf("stored %q after the old profile again", stored.Profile.NickName)
	}
}

// Without a compare-and-set write (a repo that has none), a change is the
// repo's UpdateUser, and the copy follows it.
func TestCache_ARepoWithoutUpdateFromStillCaches(t *testing.T) {
	ctx := context.Background()
	repo := openRepo(t)
	plain := struct{ ports.UserRepo }{repo} // hides UpdateUserFrom
	c := newCache(t, plain, newBackend(), nil)
	if _, err := c.EnsureUser(ctx, id, "", at); err != nil {
		t.Fatal(err)
	}
	if u, err := c.UpdateUser(ctx, id, nick("Plain")); err != nil || u.Profile.NickName != "Plain" {
		t.Fatalf("%+v, %v", u, err)
	}
	calls := repo.calls.Load()
	if u, err := c.Get(ctx, id); err != nil || u.Profile.NickName != "Plain" || repo.calls.Load() != calls {
		t.Fatalf("the copy after the repo's update: %+v, %v", u, err)
	}
}
