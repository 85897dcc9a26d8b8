package memory

import (
	"context"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"wxbackend/domain"
)

// UserCache keeps the user cache's copies (adapters/usercache) in this
// process, for a server with memory sessions: a go-cache of users by
// identity, whose janitor frees expired copies.
type UserCache struct {
	mu    sync.Mutex // makes Put's compare and set one step
	users *gocache.Cache
}

// NewUserCache returns an empty cache whose janitor runs every cleanup
// interval.
func NewUserCache(o Options) *UserCache {
	return &UserCache{users: gocache.New(gocache.NoExpiration, o.CleanupInterval)}
}

func userKey(id domain.Identity) string { return id.AppID + "\x00" + id.OpenID }

// Get returns the copy of id's user.
func (c *UserCache) Get(_ context.Context, id domain.Identity) (domain.User, bool, error) {
	v, ok := c.users.Get(userKey(id))
	if !ok {
		return domain.User{}, false, nil
	}
	return *v.(*domain.User), true, nil
}

// Put keeps u (the pointer: the caller never changes it afterwards) for
// ttl unless a copy of the same row at a revision at least u's is held.
func (c *UserCache) Put(_ context.Context, u *domain.User, ttl time.Duration) error {
	k := userKey(u.Identity())
	if u.Linked != nil { // not stored: filled in by the use cases
		cp := *u
		cp.Linked = nil
		u = &cp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.users.Get(k); ok {
		if held := v.(*domain.User); held.ID == u.ID && held.Revision >= u.Revision {
			return nil
		}
	}
	c.users.Set(k, u, ttl)
	return nil
}

// Drop removes the copy of id's user.
func (c *UserCache) Drop(_ context.Context, id domain.Identity) error {
	c.users.Delete(userKey(id))
	return nil
}
