package portfake

import (
	"context"
	"sync"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Sessions is a SessionStore in a map, with expiry read from a clock, that
// fails on demand (SetErr): a store that is down. Where no test makes the
// store fail, use adapters/memory's SessionStore.
type Sessions struct {
	clock ports.Clock

	mu     sync.Mutex
	tokens map[domain.TokenDigest]tokenEntry
	keys   map[domain.Identity]domain.SessionKey
	unions map[domain.Identity]string
	err    error
}

type tokenEntry struct {
	user      domain.Identity
	expiresAt time.Time
	issuedAt  time.Time
}

// NewSessions returns an empty store on clock.
func NewSessions(clock ports.Clock) *Sessions {
	return &Sessions{clock: clock, tokens: map[domain.TokenDigest]tokenEntry{},
		keys: map[domain.Identity]domain.SessionKey{}, unions: map[domain.Identity]string{}}
}

// Create implements ports.SessionStore.
func (s *Sessions) Create(_ context.Context, id domain.TokenDigest, sess domain.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	u := sess.Identity()
	s.tokens[id] = tokenEntry{user: u, expiresAt: sess.ExpiresAt, issuedAt: sess.IssuedAt}
	s.keys[u] = sess.SessionKey
	if sess.UnionID != "" {
		s.unions[u] = sess.UnionID
	}
	return nil
}

// Get implements ports.SessionStore.
func (s *Sessions) Get(_ context.Context, id domain.TokenDigest) (domain.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return domain.Session{}, s.err
	}
	e, ok := s.tokens[id]
	if !ok || !s.clock.Now().Before(e.expiresAt) {
		return domain.Session{}, domain.ErrUnauthenticated
	}
	return domain.Session{AppID: e.user.AppID, OpenID: e.user.OpenID, UnionID: s.unions[e.user],
		SessionKey: s.keys[e.user], ExpiresAt: e.expiresAt, IssuedAt: e.issuedAt}, nil
}

// Delete implements ports.SessionStore.
func (s *Sessions) Delete(_ context.Context, id domain.TokenDigest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	delete(s.tokens, id)
	return nil
}

// Ping implements ports.SessionStore.
func (s *Sessions) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// SetErr makes every call fail with err (nil: work again).
func (s *Sessions) SetErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Count implements ports.SessionStore.
func (s *Sessions) Count(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens), s.err
}

// DeleteAll implements ports.SessionStore.
func (s *Sessions) DeleteAll(_ context.Context, id domain.Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	for k, e := range s.tokens {
		if e.user == id {
			delete(s.tokens, k)
		}
	}
	return nil
}
