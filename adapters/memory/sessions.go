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
// a re-login changes the key of all that user's live tokens at once, and a live
// session costs one map entry beyond its user's.
type SessionStore struct {
	tokens *gocache.Cache // string(TokenDigest) → *userEntry, expiring with the token
	users  *gocache.Cache // userID → *userEntry, expiring with the user's last token

	mu      sync.Mutex    // serializes Create, so a user has one entry
	sliding time.Duration // when positive, every Get extends the session to now+sliding
}

type userEntry struct {
	appID, openID string

	mu      sync.RWMutex
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
		users:   gocache.New(gocache.NoExpiration, cleanup),
		sliding: sliding,
	}
}

func userID(appID, openID string) string { return appID + "\x00" + openID }

// Create implements ports.SessionStore.
func (st *SessionStore) Create(_ context.Context, id domain.TokenDigest, s domain.Session) error {
	ttl := time.Until(s.ExpiresAt)
	if ttl <= 0 {
		return nil // already expired: storing it would change nothing a reader sees
	}
	uid := userID(s.AppID, s.OpenID)
	st.mu.Lock()
	defer st.mu.Unlock()
	var e *userEntry
	if v, until, ok := st.users.GetWithExpiration(uid); ok {
		e = v.(*userEntry)
		if until.After(s.ExpiresAt) { // keep the user as long as its longest token
			ttl = time.Until(until)
		}
	} else {
		e = &userEntry{appID: s.AppID, openID: s.OpenID}
	}
	e.mu.Lock()
	e.key = s.Key
	if s.UnionID != "" {
		e.unionID = s.UnionID
	}
	e.mu.Unlock()
	st.users.Set(uid, e, ttl)
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
	e.mu.RLock()
	defer e.mu.RUnlock()
	return domain.Session{
		AppID:     e.appID,
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
	uid := userID(e.appID, e.openID)
	if _, userUntil, ok := st.users.GetWithExpiration(uid); ok && userUntil.Before(slid) {
		_ = st.users.Replace(uid, e, st.sliding)
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
