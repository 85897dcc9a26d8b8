package porttest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// SessionHarness gives the suite a store and its notion of time.
type SessionHarness struct {
	// New returns an empty store, closed by t.Cleanup.
	New func(t *testing.T) ports.SessionStore
	// NewSliding, when set, returns a store whose Get extends a session to
	// now+sliding; the sliding cases are skipped without it.
	NewSliding func(t *testing.T, sliding time.Duration) ports.SessionStore
	// NewCapped, when set, returns a store that keeps at most max live
	// tokens per user; the cap case is skipped without it.
	NewCapped func(t *testing.T, max int) ports.SessionStore
	// Now is the store's clock.
	Now func() time.Time
	// Elapse lets d pass for the store: a fake clock advances; a real store
	// needs nothing, as the suite polls until the wall clock has moved on.
	Elapse func(d time.Duration)
}

// TestSessionStore runs the SessionStore contract against h, twice: with
// tokens tagged with their user's tag, as logins issue them, and with
// untagged tokens, as servers issued them before tags (which must keep
// working, but may carry no profile memo).
func TestSessionStore(t *testing.T, h SessionHarness) {
	t.Run("Tagged", func(t *testing.T) {
		tagged := h
		wrap := func(st ports.SessionStore) ports.SessionStore {
			return &tagging{SessionStore: st, tags: map[[32]byte]string{}}
		}
		tagged.New = func(t *testing.T) ports.SessionStore { return wrap(h.New(t)) }
		if h.NewSliding != nil {
			tagged.NewSliding = func(t *testing.T, d time.Duration) ports.SessionStore { return wrap(h.NewSliding(t, d)) }
		}
		if h.NewCapped != nil {
			tagged.NewCapped = func(t *testing.T, n int) ports.SessionStore { return wrap(h.NewCapped(t, n)) }
		}
		testSessionStore(t, tagged, true)
	})
	t.Run("Untagged", func(t *testing.T) { testSessionStore(t, h, false) })
}

// tagging gives the suite's digests the tag of the user they are created
// for, as a login's token carries it.
type tagging struct {
	ports.SessionStore
	mu   sync.Mutex
	tags map[[32]byte]string
}

func (x *tagging) tagged(id domain.TokenDigest) domain.TokenDigest {
	x.mu.Lock()
	defer x.mu.Unlock()
	id.Tag = x.tags[id.Sum]
	return id
}

func (x *tagging) Create(ctx context.Context, id domain.TokenDigest, s domain.Session) (domain.ProfileMemo, error) {
	id.Tag = domain.UserTag(s.Identity())
	x.mu.Lock()
	x.tags[id.Sum] = id.Tag
	x.mu.Unlock()
	return x.SessionStore.Create(ctx, id, s)
}

func (x *tagging) Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error) {
	return x.SessionStore.Get(ctx, x.tagged(id))
}

func (x *tagging) Delete(ctx context.Context, id domain.TokenDigest) error {
	return x.SessionStore.Delete(ctx, x.tagged(id))
}

func testSessionStore(t *testing.T, h SessionHarness, tagged bool) {
	session := func(t *testing.T, openID string, ttl time.Duration) domain.Session {
		return domain.Session{AppID: "wxapp0000000000001", OpenID: openID, UnionID: "union-" + openID,
			SessionKey: randomKey(t), ExpiresAt: h.Now().Add(ttl)}
	}

	t.Run("CreatedSessionIsReturned", func(t *testing.T) {
		st := h.New(t)
		s := session(t, uniqueID(t, "o"), time.Hour)
		id := randomDigest(t)
		if _, err := st.Create(ctx(t), id, s); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.AppID != s.AppID || got.OpenID != s.OpenID || got.UnionID != s.UnionID || got.SessionKey.Base64() != s.SessionKey.Base64() {
			t.Fatalf("got session %+v of key %q, want %+v of key %q", got, got.SessionKey.Base64(), s, s.SessionKey.Base64())
		}
		if d := got.ExpiresAt.Sub(s.ExpiresAt); d < -time.Second || d > time.Second {
			t.Fatalf("expiry %v, want %v", got.ExpiresAt, s.ExpiresAt)
		}
	})

	t.Run("UnknownTokenIsUnauthenticated", func(t *testing.T) {
		st := h.New(t)
		_, err := st.Get(ctx(t), randomDigest(t))
		wantKind(t, err, domain.KindUnauthenticated)
	})

	t.Run("DeleteRevokesAtOnceAndOnlyThatToken", func(t *testing.T) {
		st := h.New(t)
		open := uniqueID(t, "o")
		a, b := randomDigest(t), randomDigest(t)
		for _, id := range []domain.TokenDigest{a, b} {
			if _, err := st.Create(ctx(t), id, session(t, open, time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Delete(ctx(t), a); err != nil {
			t.Fatal(err)
		}
		_, err := st.Get(ctx(t), a)
		wantKind(t, err, domain.KindUnauthenticated)
		if _, err := st.Get(ctx(t), b); err != nil {
			t.Fatalf("the user's other token: %v", err)
		}
		if err := st.Delete(ctx(t), randomDigest(t)); err != nil {
			t.Fatalf("deleting an unknown token: %v", err)
		}
	})

	t.Run("ExpiredSessionIsGone", func(t *testing.T) {
		st := h.New(t)
		id := randomDigest(t)
		ttl := 300 * time.Millisecond
		if _, err := st.Create(ctx(t), id, session(t, uniqueID(t, "o"), ttl)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx(t), id); err != nil {
			t.Fatalf("before expiry: %v", err)
		}
		h.Elapse(ttl)
		eventually(t, 5*time.Second, "session expires", func() bool {
			_, err := st.Get(ctx(t), id)
			return domain.KindOf(err) == domain.KindUnauthenticated
		})
	})

	t.Run("ReloginGivesEveryLiveTokenTheNewestKey", func(t *testing.T) {
		st := h.New(t)
		open := uniqueID(t, "o")
		first, second := session(t, open, time.Hour), session(t, open, time.Hour)
		other := session(t, uniqueID(t, "o"), time.Hour)
		a, b, c := randomDigest(t), randomDigest(t), randomDigest(t)
		for _, step := range []struct {
			id domain.TokenDigest
			s  domain.Session
		}{{a, first}, {c, other}, {b, second}} {
			if _, err := st.Create(ctx(t), step.id, step.s); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []domain.TokenDigest{a, b} {
			got, err := st.Get(ctx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if got.SessionKey.Base64() != second.SessionKey.Base64() {
				t.Fatalf("token %v decrypts with an old key after re-login", id)
			}
		}
		got, err := st.Get(ctx(t), c)
		if err != nil || got.SessionKey.Base64() != other.SessionKey.Base64() {
			t.Fatalf("another user's key changed: %v", err)
		}
	})

	t.Run("ReloginWithoutUnionIDKeepsTheKnownOne", func(t *testing.T) {
		st := h.New(t)
		open := uniqueID(t, "o")
		first, second := session(t, open, time.Hour), session(t, open, time.Hour)
		second.UnionID = ""
		a, b := randomDigest(t), randomDigest(t)
		if _, err := st.Create(ctx(t), a, first); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Create(ctx(t), b, second); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx(t), b)
		if err != nil || got.UnionID != first.UnionID {
			t.Fatalf("unionid %q (err %v), want %q", got.UnionID, err, first.UnionID)
		}
	})

	t.Run("ConcurrentLoginsOfOneUserAgreeOnOneKey", func(t *testing.T) {
		st := h.New(t)
		open := uniqueID(t, "o")
		const n = 50
		ids := make([]domain.TokenDigest, n)
		keys := make(map[string]bool, n)
		sessions := make([]domain.Session, n)
		for i := range ids {
			ids[i] = randomDigest(t)
			sessions[i] = session(t, open, time.Hour)
			keys[sessions[i].SessionKey.Base64()] = true
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := st.Create(ctx(t), ids[i], sessions[i])
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var key string
		for _, id := range ids {
			got, err := st.Get(ctx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if key == "" {
				key = got.SessionKey.Base64()
			}
			if got.SessionKey.Base64() != key || !keys[key] {
				t.Fatal("concurrent logins left the user's tokens with different keys")
			}
		}
	})

	t.Run("SlidingExpirationKeepsAnActiveSessionAlive", func(t *testing.T) {
		if h.NewSliding == nil {
			t.Skip("the store has no sliding expiration")
		}
		const sliding = 500 * time.Millisecond
		st := h.NewSliding(t, sliding)
		id, idle, revoked := randomDigest(t), randomDigest(t), randomDigest(t)
		for _, d := range []domain.TokenDigest{id, idle, revoked} {
			if _, err := st.Create(ctx(t), d, session(t, uniqueID(t, "o"), sliding)); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Delete(ctx(t), revoked); err != nil {
			t.Fatal(err)
		}
		// Used every 100ms for three lifetimes, the session stays.
		for end := time.Now().Add(3 * sliding); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			got, err := st.Get(ctx(t), id)
			if err != nil {
				t.Fatalf("an active session expired: %v", err)
			}
			if time.Until(got.ExpiresAt) < sliding-200*time.Millisecond {
				t.Fatalf("expiry %v was not extended", got.ExpiresAt)
			}
			_, err = st.Get(ctx(t), revoked)
			wantKind(t, err, domain.KindUnauthenticated) // sliding never brings back a deleted token
		}
		// The unused one expired meanwhile: only use extends. (Polling the
		// active one here would extend it: a Get is a use.)
		_, err := st.Get(ctx(t), idle)
		wantKind(t, err, domain.KindUnauthenticated)
	})

	t.Run("DeleteAllLogsAUserOutEverywhere", func(t *testing.T) {
		st := h.New(t)
		open, other := uniqueID(t, "o"), uniqueID(t, "o")
		mine := []domain.TokenDigest{randomDigest(t), randomDigest(t), randomDigest(t)}
		for _, id := range mine {
			if _, err := st.Create(ctx(t), id, session(t, open, time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		theirs := randomDigest(t)
		s := session(t, other, time.Hour)
		if _, err := st.Create(ctx(t), theirs, s); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteAll(ctx(t), domain.Identity{AppID: s.AppID, OpenID: open}); err != nil {
			t.Fatal(err)
		}
		for _, id := range mine {
			_, err := st.Get(ctx(t), id)
			wantKind(t, err, domain.KindUnauthenticated)
		}
		if _, err := st.Get(ctx(t), theirs); err != nil {
			t.Fatalf("another user was logged out: %v", err)
		}
		if err := st.DeleteAll(ctx(t), domain.Identity{AppID: s.AppID, OpenID: uniqueID(t, "o")}); err != nil {
			t.Fatalf("a user with no session: %v", err)
		}
		// A new login works after logging out everywhere.
		id := randomDigest(t)
		if _, err := st.Create(ctx(t), id, session(t, open, time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(ctx(t), id); err != nil {
			t.Fatalf("a login after logging out everywhere: %v", err)
		}
	})

	t.Run("CapRevokesTheOldestTokens", func(t *testing.T) {
		if h.NewCapped == nil {
			t.Skip("the store has no cap")
		}
		st := h.NewCapped(t, 2)
		open := uniqueID(t, "o")
		ids := []domain.TokenDigest{randomDigest(t), randomDigest(t), randomDigest(t), randomDigest(t)}
		for _, id := range ids {
			if _, err := st.Create(ctx(t), id, session(t, open, time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		for i, id := range ids {
			_, err := st.Get(ctx(t), id)
			if live := err == nil; live != (i >= 2) {
				t.Errorf("token %d of 4 with a cap of 2: live %v (%v)", i, live, err)
			}
		}
	})

	t.Run("SlidingNeverPassesTheMaximumAge", func(t *testing.T) {
		if h.NewSliding == nil {
			t.Skip("the store has no sliding expiration")
		}
		st := h.NewSliding(t, time.Hour)
		id := randomDigest(t)
		s := session(t, uniqueID(t, "o"), time.Minute)
		s.MaxExpiresAt = h.Now().Add(10 * time.Minute).Truncate(time.Millisecond)
		if _, err := st.Create(ctx(t), id, s); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx(t), id) // a use would slide an hour: capped at the limit
		if err != nil {
			t.Fatal(err)
		}
		if got.ExpiresAt.After(s.MaxExpiresAt) || got.ExpiresAt.Before(s.MaxExpiresAt.Add(-time.Second)) {
			t.Fatalf("slid to %v, limit %v", got.ExpiresAt, s.MaxExpiresAt)
		}
		if !got.MaxExpiresAt.Equal(s.MaxExpiresAt) {
			t.Fatalf("limit %v, want %v", got.MaxExpiresAt, s.MaxExpiresAt)
		}
	})

	// memoOf makes a memo of s's user with a profile named nick.
	memoOf := func(s domain.Session, nick string) domain.ProfileMemo {
		p := domain.Profile{NickName: nick, AvatarURL: "https://thirdwx.qlogo.cn/a/" + nick, Gender: 2, Language: "zh_CN",
			City: "Guangzhou", Province: "Guangdong", Country: "China"}
		at := h.Now().UTC().Truncate(time.Microsecond)
		return domain.ProfileMemo{Sent: p.Digest(), User: domain.User{ID: 42, AppID: s.AppID, OpenID: s.OpenID, UnionID: s.UnionID,
			Profile: p, UserSet: domain.FieldCity, Avatar: "ab.jpg",
			Phone:     domain.Phone{Number: "13800138000", PureNumber: "13800138000", CountryCode: "86"},
			CreatedAt: at.Add(-time.Hour), UpdatedAt: at}}
	}
	login := func(t *testing.T, st ports.SessionStore, s domain.Session) (domain.TokenDigest, domain.Session) {
		t.Helper()
		id := randomDigest(t)
		if _, err := st.Create(ctx(t), id, s); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		return id, got
	}
	memoNow := func(t *testing.T, st ports.SessionStore, id domain.TokenDigest) domain.Session {
		t.Helper()
		got, err := st.Get(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// remembered skips without tags, else logs a user in and keeps a memo
	// of nick for it; it returns the store, the session, its token and the
	// session as read before the memo was kept.
	remembered := func(t *testing.T, nick string) (ports.SessionStore, domain.Session, domain.TokenDigest, domain.Session) {
		t.Helper()
		if !tagged {
			t.Skip("memos are kept for tagged tokens")
		}
		st := h.New(t)
		s := session(t, uniqueID(t, "o"), time.Hour)
		id, before := login(t, st, s)
		if err := st.RememberProfile(ctx(t), s.Identity(), before.MemoGen, memoOf(s, nick)); err != nil {
			t.Fatal(err)
		}
		return st, s, id, before
	}

	t.Run("ProfileMemoIsSharedByTheUsersTokensAndOutlivesARelogin", func(t *testing.T) {
		if !tagged {
			t.Skip("memos are kept for tagged tokens")
		}
		st := h.New(t)
		s := session(t, uniqueID(t, "o"), time.Hour)
		a, got := login(t, st, s)
		if !got.Memo.IsZero() {
			t.Fatalf("a new user has a memo: %+v", got.Memo)
		}
		m := memoOf(s, "Ann 😀")
		if err := st.RememberProfile(ctx(t), s.Identity(), got.MemoGen, m); err != nil {
			t.Fatal(err)
		}
		b, _ := login(t, st, session(t, s.OpenID, time.Hour)) // a re-login: a new key, the same user
		for _, id := range []domain.TokenDigest{a, b} {
			if got := memoNow(t, st, id).Memo; !reflect.DeepEqual(got, m) {
				t.Fatalf("memo\n%+v, want\n%+v", got, m)
			}
		}
		other, _ := login(t, st, session(t, uniqueID(t, "o"), time.Hour))
		if got := memoNow(t, st, other).Memo; !got.IsZero() {
			t.Fatalf("another user sees the memo: %+v", got)
		}
	})

	t.Run("CreateAnswersTheUsersMemo", func(t *testing.T) {
		st, s, _, _ := remembered(t, "known")
		again := session(t, s.OpenID, time.Hour) // the same user logs in again
		got, err := st.Create(ctx(t), randomDigest(t), again)
		if err != nil || got.User.Profile.NickName != "known" || got.User.Identity() != s.Identity() {
			t.Fatalf("a returning user's login: memo %+v, %v", got.User.Profile, err)
		}
		got, err = st.Create(ctx(t), randomDigest(t), session(t, uniqueID(t, "o"), time.Hour))
		if err != nil || !got.IsZero() {
			t.Fatalf("a new user's login: memo %+v, %v", got, err)
		}
	})

	t.Run("ProfileMemoOfAStaleGenerationIsDropped", func(t *testing.T) {
		// Two saves read the session, then write in turn: the second
		// must not keep its memo, as the first changed the user after
		// the second read it.
		st, s, id, first := remembered(t, "first")
		if got := memoNow(t, st, id); got.Memo.User.Profile.NickName != "first" || got.MemoGen == first.MemoGen {
			t.Fatalf("after a current write: memo %q, generation %d (was %d)", got.Memo.User.Profile.NickName, got.MemoGen, first.MemoGen)
		}
		if err := st.RememberProfile(ctx(t), s.Identity(), first.MemoGen, memoOf(s, "second")); err != nil {
			t.Fatal(err)
		}
		if got := memoNow(t, st, id).Memo; !got.IsZero() {
			t.Fatalf("a stale write left memo %q, want none", got.User.Profile.NickName)
		}
	})

	t.Run("ForgetProfileDropsTheMemoAndStalesEveryReader", func(t *testing.T) {
		st, s, id, _ := remembered(t, "kept")
		reader := memoNow(t, st, id) // a save reads, then another change lands
		if err := st.ForgetProfile(ctx(t), s.Identity()); err != nil {
			t.Fatal(err)
		}
		if got := memoNow(t, st, id).Memo; !got.IsZero() {
			t.Fatalf("memo %q after ForgetProfile", got.User.Profile.NickName)
		}
		if err := st.RememberProfile(ctx(t), s.Identity(), reader.MemoGen, memoOf(s, "late")); err != nil {
			t.Fatal(err)
		}
		if got := memoNow(t, st, id).Memo; !got.IsZero() {
			t.Fatalf("a save that read before ForgetProfile kept memo %q", got.User.Profile.NickName)
		}
		if err := st.ForgetProfile(ctx(t), domain.Identity{AppID: s.AppID, OpenID: uniqueID(t, "nobody")}); err != nil {
			t.Fatalf("forgetting a user without sessions: %v", err)
		}
	})

	t.Run("ProfileMemoGoesWithTheUsersSessions", func(t *testing.T) {
		st, s, _, got := remembered(t, "gone")
		if err := st.DeleteAll(ctx(t), s.Identity()); err != nil {
			t.Fatal(err)
		}
		if err := st.RememberProfile(ctx(t), s.Identity(), got.MemoGen+1, memoOf(s, "orphan")); err != nil {
			t.Fatalf("remembering for a user without sessions: %v", err)
		}
		id, _ := login(t, st, s)
		if got := memoNow(t, st, id).Memo; !got.IsZero() {
			t.Fatalf("a new session of a logged-out user sees memo %q", got.User.Profile.NickName)
		}
	})

	t.Run("PingAnswers", func(t *testing.T) {
		if err := h.New(t).Ping(ctx(t)); err != nil {
			t.Fatal(err)
		}
	})
}
