// Package memory keeps sessions in the server's memory with patrickmn/go-cache.
// Sessions die with the process and are not shared between servers; use the
// Redis store to run more than one.
package memory

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// SessionStore implements ports.SessionStore in memory.
//
// Every token points at one entry per user that holds the user's newest key, so
// a re-login changes the key of all that user's live tokens at once. Tokens
// live in go-caches (TTL, janitor); users in a plain map per app, keyed by the
// openid the entry holds anyway, listing their tokens (for the per-user cap
// and logging out everywhere): a user goes when its last token does. A live
// session of a distinct user costs about 340 bytes of heap
// (BenchmarkHeapPerSession).
type SessionStore struct {
	// tokens are tokenKey → *tokenEntry, dropped by go-cache's janitors
	// after expiry, in shards by the key's first byte: a janitor's sweep
	// locks its shard only, so a sweep of a million sessions stalls no
	// request for more than a sixty-fourth of it (BenchmarkGetDuringSweep).
	tokens [tokenShards]*gocache.Cache

	mu         sync.Mutex // guards apps and every entry's keys
	apps       map[string]*appUsers
	sliding    time.Duration // when positive, every Get extends the session to now+sliding
	maxPerUser int           // live tokens a user may have; 0: no cap
	clock      ports.Clock   // decides expiry; go-cache's own clock only frees memory
}

var _ ports.SessionStore = (*SessionStore)(nil)

// Options are the memory store's settings (see config/setting).
type Options struct {
	CleanupInterval time.Duration `setting:"session-cleanup-interval" default:"1m" usage:"how often the memory session store frees expired sessions (expiry itself is exact)"`
	// SessionCheckTTL is how long WeChat's answer to wxa/checksession is
	// reused for a session key, in each server's memory (SessionChecks),
	// whichever session store is used.
	SessionCheckTTL time.Duration `setting:"session-check-ttl" default:"60s" usage:"how long each server reuses WeChat's answer to wxa/checksession for a session (GET /api/v1/session), so clients polling it do not spend the app's quota (0: ask WeChat every time)"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) {
	p.Positive(&o.CleanupInterval)
	p.NotNegative(&o.SessionCheckTTL)
}

// tokenEntry is a live token: its user, and when it expires on the store's
// clock (Unix nanoseconds; atomic, as sliding moves it).
type tokenEntry struct {
	user    *userEntry
	expires atomic.Int64
	limit   int64 // Unix nanoseconds sliding may not pass; 0: none
	issued  int64 // Unix nanoseconds of the login; 0: unknown
}

// appUsers are one app's users, by openid.
type appUsers struct {
	appID string
	users map[string]*userEntry
}

type userEntry struct {
	app    *appUsers
	openID string
	keys   []string // the user's live tokens, oldest first; under SessionStore.mu
	stripe uint8    // which of stripes locks this entry

	// Under the entry's stripe lock:
	unionID string
	key     domain.SessionKey
}

// stripes lock entries' key and unionID: a lock per entry would cost every
// session a lock almost never contended. Each has its own cache line.
var stripes [64]struct {
	sync.RWMutex
	_ [64 - 24]byte
}

func (e *userEntry) lock() *sync.RWMutex { return &stripes[e.stripe].RWMutex }

// stripeOf spreads users over the stripes: FNV-1a of the openid.
func stripeOf(openID string) uint8 {
	h := uint32(2166136261)
	for i := 0; i < len(openID); i++ {
		h = (h ^ uint32(openID[i])) * 16777619
	}
	return uint8(h % uint32(len(stripes)))
}

// tokenKey is the map key of a token: the first half of its SHA-256 (its
// tag is of no use in one process's memory). 128
// bits cannot be matched by chance or by search, and half a key is half the
// memory of every session.
func tokenKey(id domain.TokenDigest) string { return string(id.Sum[:16]) }

// NewSessionStore returns an empty store whose janitor frees expired
// sessions every cleanup interval. Expiry is exact, on clock, whatever the
// interval: an expired session is never returned. A positive sliding makes
// every Get extend the session to now+sliding (never past the session's
// MaxExpiresAt). A user keeps at most maxPerUser live tokens (0: any number):
// a newer one revokes the oldest.
func NewSessionStore(o Options, sliding time.Duration, maxPerUser int, clock ports.Clock) *SessionStore {
	st := &SessionStore{
		apps:       map[string]*appUsers{},
		sliding:    sliding,
		maxPerUser: maxPerUser,
		clock:      clock,
	}
	for i := range st.tokens {
		st.tokens[i] = gocache.New(gocache.NoExpiration, o.CleanupInterval)
		st.tokens[i].OnEvicted(st.evicted)
	}
	return st
}

// evicted forgets a token that left the cache (deleted, revoked or
// expired), and its user with its last token.
func (st *SessionStore) evicted(k string, v any) {
	e := v.(*tokenEntry).user
	st.mu.Lock()
	defer st.mu.Unlock()
	if i := slices.Index(e.keys, k); i >= 0 {
		e.keys = slices.Delete(e.keys, i, i+1)
	}
	if len(e.keys) == 0 && e.app.users[e.openID] == e {
		delete(e.app.users, e.openID)
	}
}

// Create implements ports.SessionStore.
func (st *SessionStore) Create(_ context.Context, id domain.TokenDigest, s domain.Session) error {
	ttl := s.ExpiresAt.Sub(st.clock.Now())
	if ttl <= 0 {
		return nil // already expired: storing it would change nothing a reader sees
	}
	k := tokenKey(id)
	t := &tokenEntry{}
	t.expires.Store(s.ExpiresAt.UnixNano())
	if !s.MaxExpiresAt.IsZero() {
		t.limit = s.MaxExpiresAt.UnixNano()
	}
	if !s.IssuedAt.IsZero() {
		t.issued = s.IssuedAt.UnixNano()
	}
	st.mu.Lock()
	app, ok := st.apps[s.AppID]
	if !ok {
		app = &appUsers{appID: s.AppID, users: map[string]*userEntry{}}
		st.apps[s.AppID] = app
	}
	e, ok := app.users[s.OpenID]
	if !ok {
		e = &userEntry{app: app, openID: s.OpenID, stripe: stripeOf(s.OpenID)}
		app.users[s.OpenID] = e
	}
	l := e.lock()
	l.Lock()
	e.key = s.SessionKey
	if s.UnionID != "" {
		e.unionID = s.UnionID
	}
	l.Unlock()
	t.user = e
	if !slices.Contains(e.keys, k) { // a digest is new but for a 2^-128 chance
		e.keys = append(e.keys, k)
	}
	st.shard(k).Set(k, t, ttl)
	var revoke []string
	if st.maxPerUser > 0 && len(e.keys) > st.maxPerUser {
		revoke = slices.Clone(e.keys[:len(e.keys)-st.maxPerUser])
	}
	st.mu.Unlock()
	for _, old := range revoke { // outside the lock: eviction takes it
		st.shard(old).Delete(old)
	}
	return nil
}

// Count implements ports.SessionStore: the tokens held, expired ones the
// janitor has not swept yet included.
func (st *SessionStore) Count(context.Context) (int, error) {
	n := 0
	for _, c := range st.tokens {
		n += c.ItemCount()
	}
	return n, nil
}

// DeleteAll implements ports.SessionStore: every live token of the user.
func (st *SessionStore) DeleteAll(_ context.Context, id domain.Identity) error {
	st.mu.Lock()
	var keys []string
	if app, ok := st.apps[id.AppID]; ok {
		if e, ok := app.users[id.OpenID]; ok {
			keys = slices.Clone(e.keys)
		}
	}
	st.mu.Unlock()
	for _, k := range keys {
		st.shard(k).Delete(k)
	}
	return nil
}

// Get implements ports.SessionStore.
func (st *SessionStore) Get(_ context.Context, id domain.TokenDigest) (domain.Session, error) {
	k := tokenKey(id)
	v, ok := st.shard(k).Get(k)
	if !ok {
		return domain.Session{}, domain.ErrUnauthenticated
	}
	t := v.(*tokenEntry)
	now := st.clock.Now()
	until := time.Unix(0, t.expires.Load())
	if !now.Before(until) {
		return domain.Session{}, domain.ErrUnauthenticated
	}
	if st.sliding > 0 {
		until = st.slide(k, t, now, until)
	}
	e := t.user
	l := e.lock()
	l.RLock()
	defer l.RUnlock()
	return domain.Session{
		AppID:        e.app.appID,
		OpenID:       e.openID,
		UnionID:      e.unionID,
		SessionKey:   e.key,
		ExpiresAt:    until,
		MaxExpiresAt: limitOf(t),
		IssuedAt:     issuedOf(t),
	}, nil
}

// issuedOf is t's IssuedAt.
func issuedOf(t *tokenEntry) time.Time {
	if t.issued == 0 {
		return time.Time{}
	}
	return time.Unix(0, t.issued)
}

// limitOf is t's MaxExpiresAt.
func limitOf(t *tokenEntry) time.Time {
	if t.limit == 0 {
		return time.Time{}
	}
	return time.Unix(0, t.limit)
}

// slide extends a token to now+sliding. Replace sets only what is still
// there, so a token deleted meanwhile stays deleted.
func (st *SessionStore) slide(k string, t *tokenEntry, now, until time.Time) time.Time {
	slid := now.Add(st.sliding)
	if t.limit != 0 && slid.UnixNano() > t.limit {
		slid = time.Unix(0, t.limit)
	}
	if !slid.After(until) {
		return until
	}
	if st.shard(k).Replace(k, t, slid.Sub(now)) != nil {
		return until
	}
	t.expires.Store(slid.UnixNano())
	return slid
}

// Delete implements ports.SessionStore.
func (st *SessionStore) Delete(_ context.Context, id domain.TokenDigest) error {
	st.shard(tokenKey(id)).Delete(tokenKey(id))
	return nil
}

// Ping implements ports.SessionStore; memory is always reachable.
func (st *SessionStore) Ping(context.Context) error { return nil }

// sweep drops expired tokens now, as the janitor does every cleanup interval.
func (st *SessionStore) sweep() {
	for _, c := range st.tokens {
		c.DeleteExpired()
	}
}

// tokenShards is how many go-caches hold the tokens.
const tokenShards = 64

// shard is the cache that holds token key k (a digest's bytes, so its
// first byte is uniform).
func (st *SessionStore) shard(k string) *gocache.Cache { return st.tokens[k[0]%tokenShards] }
