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
	t.Run("ACurrentCopyIsWrittenAndNoChangeWritesNothing", func(t *testing.T) {
		key := newKey()
		if _, err := r.EnsureUser(ctx, key, "", t0); err != nil {
			t.Fatal(err)
		}
		seen, err := r.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.UpdateUserFrom(ctx, seen, func(u *domain.User) (bool, error) {
			u.Profile.NickName, u.UpdatedAt = "from the copy", t0.Add(time.Minute)
			return true, nil
		})
		if err != nil || got.Profile.NickName != "from the copy" || got.Revision <= seen.Revision {
			t.Fatalf("answered %+v, %v", got, err)
		}
		read, err := r.Get(ctx, key)
		if err != nil || read.Profile.NickName != "from the copy" || read.Revision != got.Revision {
			t.Fatalf("stored %+v (answered revision %d), %v", read, got.Revision, err)
		}
		same, err := r.UpdateUserFrom(ctx, read, func(*domain.User) (bool, error) { return false, nil })
		if err != nil || same.Revision != read.Revision {
			t.Fatalf("unchanged: %+v, %v", same, err)
		}
		if again, _ := r.Get(ctx, key); again.Revision != read.Revision {
			t.Fatalf("an unchanged update moved the revision to %d", again.Revision)
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
		got, err := r.UpdateUserFrom(ctx, stale, func(u *domain.User) (bool, error) {
			runs++
			u.Profile.NickName = "late"
			if u.UserSet&domain.FieldCity == 0 {
				u.Profile.City = "from the stale copy"
			}
			return true, nil
		})
		if err != nil || got.Profile.NickName != "late" || got.Profile.City != "Hangzhou" {
			t.Fatalf("answered %+v, %v", got.Profile, err)
		}
		read, err := r.Get(ctx, key)
		if err != nil || read.Profile.NickName != "late" || read.Profile.City != "Hangzhou" || runs < 2 {
			t.Fatalf("stored %+v after %d runs, %v", read.Profile, runs, err)
		}
		gone := stale
		gone.OpenID = "oGone" + key.OpenID
		_, err = r.UpdateUserFrom(ctx, gone, func(u *domain.User) (bool, error) { return true, nil })
		if domain.KindOf(err) != domain.KindNotFound {
			t.Fatalf("a copy of no user: %v", err)
		}
	})
}
