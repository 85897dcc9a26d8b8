// Package memory keeps sessions in the server's memory with patrickmn/go-cache.
// Sessions die with the process and are not shared between servers; use the
// Redis store to run more than one.
package memory

import (
	"context"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"wxbackend/domain"
)

// SessionStore implements ports.SessionStore in memory.
//
// Every token points at one entry per user that holds the user's newest key, so
// a re-login changes the key of all that user's live tokens at once. Users are
// kept per app, keyed by openid, so a user costs no key of its own beyond the
// openid it holds anyway: about 260 bytes of heap per live session of a
// distinct user (BenchmarkHeapPerSession).
type SessionStore struct {
	tokens *gocache.Cache // string(TokenDigest) → *userEntry, expiring with the token

	mu      sync.Mutex // serializes Create, so a user has one entry
	apps    map[string]*appUsers
	cleanup time.Duration
	sliding time.Duration // when positive, every Get extends the session to now+sliding
}

// appUsers are one app's users: openid → *userEntry, expiring with the
// user's last token.
type appUsers struct {
	appID string
	users *gocache.Cache
}

type userEntry struct {
	app    *appUsers
	openID string

	mu      sync.Mutex
	unionID string
	key     domain.SessionKey
}

// NewSessionStore returns an empty store whose janitor drops expired sessions
// every cleanup interval. Expiry is exact whatever the interval: an expired
// session is never returned. A positive sliding makes every Get extend the
// session to now+sliding.
func NewSessionStore(cleanup, sliding time.Duration) *SessionStore {
	return &SessionStore{
		tokens:  gocache.New(gocache.NoExpiration, cleanup),
		apps:    map[string]*appUsers{},
		cleanup: cleanup,
		sliding: sliding,
	}
}

// app returns the users of appID; st.mu must be held.
func (st *SessionStore) app(appID string) *appUsers {
	a, ok := st.apps[appID]
	if !ok {
		a = &appUsers{appID: appID, users: gocache.New(gocache.NoExpiration, st.cleanup)}
		st.apps[appID] = a
	}
	return a
}

// Create implements ports.SessionStore.
func (st *SessionStore) Create(_ context.Context, id domain.TokenDigest, s domain.Session) error {
	ttl := time.Until(s.ExpiresAt)
	if ttl <= 0 {
		return nil // already expired: storing it would change nothing a reader sees
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	app := st.app(s.AppID)
	var e *userEntry
	if v, until, ok := app.users.GetWithExpiration(s.OpenID); ok {
		e = v.(*userEntry)
		if until.After(s.ExpiresAt) { // keep the user as long as its longest token
			ttl = time.Until(until)
		}
	} else {
		e = &userEntry{app: app, openID: s.OpenID}
	}
	e.mu.Lock()
	e.key = s.Key
	if s.UnionID != "" {
		e.unionID = s.UnionID
	}
	e.mu.Unlock()
	app.users.Set(s.OpenID, e, ttl)
	st.tokens.Set(string(id[:]), e, time.Until(s.ExpiresAt))
	return nil
}

// Get implements ports.SessionStore.
func (st *SessionStore) Get(_ context.Context, id domain.TokenDigest) (domain.Session, error) {
	k := string(id[:])
	v, until, ok := st.tokens.GetWithExpiration(k)
	if !ok {
		return domain.Session{}, domain.ErrUnauthenticated
	}
	e := v.(*userEntry)
	if st.sliding > 0 {
		until = st.slide(k, e, until)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return domain.Session{
		AppID:     e.app.appID,
		OpenID:    e.openID,
		UnionID:   e.unionID,
		Key:       e.key,
		ExpiresAt: until,
	}, nil
}

// slide extends a token, and its user's entry, to now+sliding. Replace sets
// only what is still there, so a token deleted meanwhile stays deleted.
func (st *SessionStore) slide(k string, e *userEntry, until time.Time) time.Time {
	slid := time.Now().Add(st.sliding)
	if !slid.After(until) {
		return until
	}
	if st.tokens.Replace(k, e, st.sliding) != nil {
		return until
	}
	if _, userUntil, ok := e.app.users.GetWithExpiration(e.openID); ok && userUntil.Before(slid) {
		_ = e.app.users.Replace(e.openID, e, st.sliding)
	}
	return slid
}

// Delete implements ports.SessionStore.
func (st *SessionStore) Delete(_ context.Context, id domain.TokenDigest) error {
	st.tokens.Delete(string(id[:]))
	return nil
}

// Ping implements ports.SessionStore; memory is always reachable.
func (st *SessionStore) Ping(context.Context) error { return nil }
