package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/domain"
)

// UpdateUserFrom (the user cache's compare-and-set write) on every database.

func TestSQLite_UpdateUserFrom(t *testing.T) { testUpdateUserFrom(t, openSQLite(t).Users) }

func TestMariaDB_UpdateUserFrom(t *testing.T) {
	testUpdateUserFrom(t, openStore(t, "mysql", sqltest.MySQL(t)).Users)
}

func TestPostgres_UpdateUserFrom(t *testing.T) {
	testUpdateUserFrom(t, openStore(t, "postgres", sqltest.Postgres(t)).Users)
}

func testUpdateUserFrom(t *testing.T, r *sqlstore.UserRepo) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)
	newKey := func() domain.Identity {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return domain.Identity{AppID: "wxfrom" + hex.EncodeToString(b[:6]), OpenID: "oFrom" + hex.EncodeToString(b[:])}
	}
	t.Run("ACurrentCopysChangeIsWrittenAsItIs", func(t *testing.T) {
		key := newKey()
		if _, err := r.EnsureUser(ctx, key, "", t0); err != nil {
			t.Fatal(err)
		}
		phone := domain.Phone{Number: "13800138000", PureNumber: "13800138000", CountryCode: "86"}
		seen, err := r.UpdateUser(ctx, key, func(u *domain.User) (bool, error) {
			u.Phone, u.Avatar = phone, "avatar-1.jpg"
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		next := seen // a change of the profile alone: its own statement
		next.Profile.NickName, next.UpdatedAt = "from the copy", t0.Add(time.Minute)
		got, err := r.UpdateUserFrom(ctx, seen, next, func(*domain.User) (bool, error) {
			t.Error("a current copy's change is written as it is, without running update again")
			return false, nil
		})
		if err != nil || got.Profile.NickName != "from the copy" || got.Revision <= seen.Revision {
			t.Fatalf("answered %+v, %v", got, err)
		}
		read, err := r.Get(ctx, key)
		if err != nil || read.Profile.NickName != "from the copy" || read.Revision != got.Revision ||
			read.Phone != phone || read.Avatar != "avatar-1.jpg" || !read.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("stored %+v (answered revision %d), %v", read, got.Revision, err)
		}
		stale := seen // the revision moved on: the profile's write applies no more
		stale.Profile.NickName = "stale"
		if _, err := r.UpdateUserFrom(ctx, seen, stale, func(u *domain.User) (bool, error) {
			u.Profile.City = "ran on the stored user"
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		if read, _ := r.Get(ctx, key); read.Profile.NickName != "from the copy" || read.Profile.City != "ran on the stored user" {
			t.Fatalf("a stale copy's profile was written: %+v", read.Profile)
		}
	})
	t.Run("AStaleCopyAppliesToTheStoredUser", func(t *testing.T) {
		key := newKey()
		if _, err := r.EnsureUser(ctx, key, "", t0); err != nil {
			t.Fatal(err)
		}
		stale, err := r.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.UpdateUser(ctx, key, func(u *domain.User) (bool, error) {
			u.Profile.City, u.UserSet = "Hangzhou", domain.FieldCity // the user's own, since the copy
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		runs := 0
		update := func(u *domain.User) (bool, error) {
			runs++
			u.Profile.NickName = "late"
			if u.UserSet&domain.FieldCity == 0 {
				u.Profile.City = "from the stale copy"
			}
			return true, nil
		}
		next := stale
		_, _ = update(&next) // the cache's run, on its copy
		got, err := r.UpdateUserFrom(ctx, stale, next, update)
		if err != nil || got.Profile.NickName != "late" || got.Profile.City != "Hangzhou" {
			t.Fatalf("answered %+v, %v", got.Profile, err)
		}
		read, err := r.Get(ctx, key)
		if err != nil || read.Profile.NickName != "late" || read.Profile.City != "Hangzhou" || runs < 2 {
			t.Fatalf("stored %+v after %d runs, %v", read.Profile, runs, err)
		}
		gone := stale
		gone.OpenID = "oGone" + key.OpenID
		_, err = r.UpdateUserFrom(ctx, gone, gone, func(u *domain.User) (bool, error) { return true, nil })
		if domain.KindOf(err) != domain.KindNotFound {
			t.Fatalf("a copy of no user: %v", err)
		}
	})
}
