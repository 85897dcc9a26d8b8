package porttest

import (
	"context"
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

// TestSessionStore runs the SessionStore contract against h, with tokens
// tagged with their user's tag, as logins issue them.
func TestSessionStore(t *testing.T, h SessionHarness) {
	h = h.tagging()
	for _, c := range []struct {
		name string
		run  func(*testing.T, SessionHarness)
	}{
		{"CreatedSessionIsReturned", sessionCreatedSessionIsReturned},
		{"UnknownTokenIsUnauthenticated", sessionUnknownTokenIsUnauthenticated},
		{"DeleteRevokesAtOnceAndOnlyThatToken", sessionDeleteRevokesAtOnceAndOnlyThatToken},
		{"ExpiredSessionIsGone", sessionExpiredSessionIsGone},
		{"ReloginGivesEveryLiveTokenTheNewestKey", sessionReloginGivesEveryLiveTokenTheNewestKey},
		{"ReloginWithoutUnionIDKeepsTheKnownOne", sessionReloginWithoutUnionIDKeepsTheKnownOne},
		{"ConcurrentLoginsOfOneUserAgreeOnOneKey", sessionConcurrentLoginsOfOneUserAgreeOnOneKey},
		{"SlidingExpirationKeepsAnActiveSessionAlive", sessionSlidingExpirationKeepsAnActiveSessionAlive},
		{"DeleteAllLogsAUserOutEverywhere", sessionDeleteAllLogsAUserOutEverywhere},
		{"CapRevokesTheOldestTokens", sessionCapRevokesTheOldestTokens},
		{"SlidingNeverPassesTheMaximumAge", sessionSlidingNeverPassesTheMaximumAge},
		{"IssueTimeIsKept", sessionIssueTimeIsKept},
		{"PingAnswers", sessionPingAnswers},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// tagging returns h with stores that give the suite's digests the tag of
// the user they are created for, as a login's token carries it.
func (h SessionHarness) tagging() SessionHarness {
	wrap := func(st ports.SessionStore) ports.SessionStore {
		return &tagging{SessionStore: st, tags: map[[32]byte]string{}}
	}
	tagged := h
	tagged.New = func(t *testing.T) ports.SessionStore { return wrap(h.New(t)) }
	if h.NewSliding != nil {
		tagged.NewSliding = func(t *testing.T, d time.Duration) ports.SessionStore { return wrap(h.NewSliding(t, d)) }
	}
	if h.NewCapped != nil {
		tagged.NewCapped = func(t *testing.T, n int) ports.SessionStore { return wrap(h.NewCapped(t, n)) }
	}
	return tagged
}

// tagging tags the digests the suite makes.
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

func (x *tagging) Create(ctx context.Context, id domain.TokenDigest, s domain.Session) error {
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

// session is a session of openID in the suite's app that lives ttl.
func (h SessionHarness) session(t *testing.T, openID string, ttl time.Duration) domain.Session {
	return domain.Session{AppID: "wxapp0000000000001", OpenID: openID, UnionID: "union-" + openID,
		SessionKey: randomKey(t), ExpiresAt: h.Now().Add(ttl)}
}

func sessionCreatedSessionIsReturned(t *testing.T, h SessionHarness) {
	st := h.New(t)
	s := h.session(t, uniqueID(t, "o"), time.Hour)
	id := randomDigest(t)
	if err := st.Create(ctx(t), id, s); err != nil {
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
}

func sessionUnknownTokenIsUnauthenticated(t *testing.T, h SessionHarness) {
	st := h.New(t)
	_, err := st.Get(ctx(t), randomDigest(t))
	wantKind(t, err, domain.KindUnauthenticated)
}

func sessionDeleteRevokesAtOnceAndOnlyThatToken(t *testing.T, h SessionHarness) {
	st := h.New(t)
	open := uniqueID(t, "o")
	a, b := randomDigest(t), randomDigest(t)
	for _, id := range []domain.TokenDigest{a, b} {
		if err := st.Create(ctx(t), id, h.session(t, open, time.Hour)); err != nil {
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
}

func sessionExpiredSessionIsGone(t *testing.T, h SessionHarness) {
	st := h.New(t)
	id := randomDigest(t)
	ttl := 300 * time.Millisecond
	if err := st.Create(ctx(t), id, h.session(t, uniqueID(t, "o"), ttl)); err != nil {
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
}

func sessionReloginGivesEveryLiveTokenTheNewestKey(t *testing.T, h SessionHarness) {
	st := h.New(t)
	open := uniqueID(t, "o")
	first, second := h.session(t, open, time.Hour), h.session(t, open, time.Hour)
	other := h.session(t, uniqueID(t, "o"), time.Hour)
	a, b, c := randomDigest(t), randomDigest(t), randomDigest(t)
	for _, step := range []struct {
		id domain.TokenDigest
		s  domain.Session
	}{{a, first}, {c, other}, {b, second}} {
		if err := st.Create(ctx(t), step.id, step.s); err != nil {
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
}

func sessionReloginWithoutUnionIDKeepsTheKnownOne(t *testing.T, h SessionHarness) {
	st := h.New(t)
	open := uniqueID(t, "o")
	first, second := h.session(t, open, time.Hour), h.session(t, open, time.Hour)
	second.UnionID = ""
	a, b := randomDigest(t), randomDigest(t)
	if err := st.Create(ctx(t), a, first); err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx(t), b, second); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx(t), b)
	if err != nil || got.UnionID != first.UnionID {
		t.Fatalf("unionid %q (err %v), want %q", got.UnionID, err, first.UnionID)
	}
}

func sessionConcurrentLoginsOfOneUserAgreeOnOneKey(t *testing.T, h SessionHarness) {
	st := h.New(t)
	open := uniqueID(t, "o")
	const n = 50
	ids := make([]domain.TokenDigest, n)
	keys := make(map[string]bool, n)
	sessions := make([]domain.Session, n)
	for i := range ids {
		ids[i] = randomDigest(t)
		sessions[i] = h.session(t, open, time.Hour)
		keys[sessions[i].SessionKey.Base64()] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := st.Create(ctx(t), ids[i], sessions[i])
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
}

func sessionSlidingExpirationKeepsAnActiveSessionAlive(t *testing.T, h SessionHarness) {
	if h.NewSliding == nil {
		t.Skip("the store has no sliding expiration")
	}
	const sliding = 500 * time.Millisecond
	st := h.NewSliding(t, sliding)
	id, idle, revoked := randomDigest(t), randomDigest(t), randomDigest(t)
	for _, d := range []domain.TokenDigest{id, idle, revoked} {
		if err := st.Create(ctx(t), d, h.session(t, uniqueID(t, "o"), sliding)); err != nil {
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
}

func sessionDeleteAllLogsAUserOutEverywhere(t *testing.T, h SessionHarness) {
	st := h.New(t)
	open, other := uniqueID(t, "o"), uniqueID(t, "o")
	mine := []domain.TokenDigest{randomDigest(t), randomDigest(t), randomDigest(t)}
	for _, id := range mine {
		if err := st.Create(ctx(t), id, h.session(t, open, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	theirs := randomDigest(t)
	s := h.session(t, other, time.Hour)
	if err := st.Create(ctx(t), theirs, s); err != nil {
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
	if err := st.Create(ctx(t), id, h.session(t, open, time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx(t), id); err != nil {
		t.Fatalf("a login after logging out everywhere: %v", err)
	}
}

func sessionCapRevokesTheOldestTokens(t *testing.T, h SessionHarness) {
	if h.NewCapped == nil {
		t.Skip("the store has no cap")
	}
	st := h.NewCapped(t, 2)
	open := uniqueID(t, "o")
	ids := []domain.TokenDigest{randomDigest(t), randomDigest(t), randomDigest(t), randomDigest(t)}
	for _, id := range ids {
		if err := st.Create(ctx(t), id, h.session(t, open, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		_, err := st.Get(ctx(t), id)
		if live := err == nil; live != (i >= 2) {
			t.Errorf("token %d of 4 with a cap of 2: live %v (%v)", i, live, err)
		}
	}
}

func sessionSlidingNeverPassesTheMaximumAge(t *testing.T, h SessionHarness) {
	if h.NewSliding == nil {
		t.Skip("the store has no sliding expiration")
	}
	st := h.NewSliding(t, time.Hour)
	id := randomDigest(t)
	s := h.session(t, uniqueID(t, "o"), time.Minute)
	s.MaxExpiresAt = h.Now().Add(10 * time.Minute).Truncate(time.Millisecond)
	if err := st.Create(ctx(t), id, s); err != nil {
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
}

func sessionPingAnswers(t *testing.T, h SessionHarness) {
	if err := h.New(t).Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// The login's time comes back (to the millisecond, as a store may keep
// it), and a session created without one has none.
func sessionIssueTimeIsKept(t *testing.T, h SessionHarness) {
	st := h.New(t)
	with, without := randomDigest(t), randomDigest(t)
	s := h.session(t, uniqueID(t, "o"), time.Minute)
	s.IssuedAt = h.Now().Add(-time.Second).Truncate(time.Millisecond)
	if err := st.Create(ctx(t), with, s); err != nil {
		t.Fatal(err)
	}
	old := h.session(t, uniqueID(t, "o"), time.Minute)
	old.IssuedAt = time.Time{}
	if err := st.Create(ctx(t), without, old); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx(t), with)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(s.IssuedAt) {
		t.Fatalf("issued %v, want %v", got.IssuedAt, s.IssuedAt)
	}
	if got, err = st.Get(ctx(t), without); err != nil || !got.IssuedAt.IsZero() {
		t.Fatalf("a session without an issue time: %v, %v", got.IssuedAt, err)
	}
}
