package usercache

import (
	"context"
	"sync"

	"wxbackend/domain"
	"wxbackend/ports"
)

// A request's scope saves the cache's own read when the session store can
// bring the copy of the session's user along with the session, in the same
// round trip (redisstore: both live in the user's Cluster slot). A login
// writes its session before it looks its user up, and every authenticated
// request reads its session first; within a scope, Sessions
// keeps the copy that read brought (or that there was none), and the next
// lookup of that user takes it instead of asking the backend. A scope lives
// as long as one request: nothing in it can be older than the request.

// SessionReader is a session store that reads a session and the copy of
// its user in one step (redisstore.SessionStore).
type SessionReader interface {
	// GetWithCopy is SessionStore.Get that also returns the copy of the
	// session's user the backend holds; ok is false when it holds none.
	GetWithCopy(ctx context.Context, id domain.TokenDigest) (s domain.Session, u domain.User, ok bool, err error)
}

// SessionCreator is a session store that writes a session and reads the
// copy of its user in one step (redisstore.SessionStore): a login's user
// lookup, right after, then takes that copy.
type SessionCreator interface {
	// CreateWithCopy is SessionStore.Create that also returns the copy of
	// the session's user the backend holds; ok is false when it holds none.
	CreateWithCopy(ctx context.Context, id domain.TokenDigest, s domain.Session) (u domain.User, ok bool, err error)
}

type scopeKey struct{}

// scope holds the copy one session read brought along, for one lookup.
type scope struct {
	mu   sync.Mutex
	set  bool
	id   domain.Identity
	user domain.User
	ok   bool
}

// WithScope returns ctx with a scope of its own, for one request.
func WithScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{})
}

func scopeOf(ctx context.Context) *scope {
	sc, _ := ctx.Value(scopeKey{}).(*scope)
	return sc
}

// keep records what a session read of id found in the backend.
func (sc *scope) keep(id domain.Identity, u domain.User, ok bool) {
	sc.mu.Lock()
	sc.set, sc.id, sc.user, sc.ok = true, id, u, ok
	sc.mu.Unlock()
}

// take returns, once, what the session read found of id's copy; known is
// false when the scope has nothing of id (then the backend is asked).
func (sc *scope) take(id domain.Identity) (u domain.User, ok, known bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.set || sc.id != id {
		return domain.User{}, false, false
	}
	sc.set = false
	return sc.user, sc.ok, true
}

// Sessions is a ports.SessionStore whose reads, within a request's scope
// (WithScope), keep the copy of the session's user that came along.
type Sessions struct {
	ports.SessionStore
	reader SessionReader
}

var _ ports.SessionStore = (*Sessions)(nil)

// NewSessions returns store, reading through reader (usually the same
// store) within a scope.
func NewSessions(store ports.SessionStore, reader SessionReader) *Sessions {
	return &Sessions{SessionStore: store, reader: reader}
}

// Get implements ports.SessionStore: within a scope, the session and the
// copy of its user in one read.
func (s *Sessions) Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error) {
	sc := scopeOf(ctx)
	if sc == nil {
		return s.SessionStore.Get(ctx, id)
	}
	sess, u, ok, err := s.reader.GetWithCopy(ctx, id)
	if err != nil {
		return domain.Session{}, err
	}
	sc.keep(sess.Identity(), u, ok)
	return sess, nil
}

// Create implements ports.SessionStore: within a scope, and when the reader
// is also a SessionCreator, the session's write and the read of the copy of
// its user in one step.
func (s *Sessions) Create(ctx context.Context, id domain.TokenDigest, sess domain.Session) error {
	sc := scopeOf(ctx)
	c, ok := s.reader.(SessionCreator)
	if sc == nil || !ok {
		return s.SessionStore.Create(ctx, id, sess)
	}
	u, found, err := c.CreateWithCopy(ctx, id, sess)
	if err != nil {
		return err
	}
	sc.keep(sess.Identity(), u, found)
	return nil
}
