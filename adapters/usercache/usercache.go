// Package usercache speeds up a ports.UserRepo with copies of its users,
// kept where the sessions are (this process's memory, or Redis for every
// server): mini-programs send the same profile at every launch, and a
// returning user logs in again and again, and with a copy neither needs
// the user database.
//
// The protocol, in one place:
//
//   - Get, EnsureUser and UpdateUser start from the copy when there is
//     one. An update that changes nothing answers the copy; a change is one
//     compare-and-set write from the copy (UpdaterFrom), which falls back to
//     the repo's own read-modify-write when the stored user moved on.
//   - Every write is written through: the repo first, then the new copy,
//     which a backend keeps only if it is newer than the one it holds (the
//     same row at a higher revision), so racing servers never leave an
//     older copy behind. A copy that cannot be kept is dropped (best effort)
//     and the failure logged: the next request reads the repo.
//   - Delete drops the copy, and so does a KindNotFound from the repo (a user
//     deleted behind the cache's back): the next login recreates the user.
//   - Copies expire after the configured TTL, whatever happens.
//   - Within a request's scope, the copy the session read brought along
//     answers the first lookup of its user (scope.go): one round trip for
//     the session and the copy, where the store can (Redis).
package usercache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options are the cache's settings (see config/setting).
type Options struct {
	TTL time.Duration `setting:"user-cache-ttl" default:"24h" usage:"how long a copy of a user is kept where sessions are kept, so an unchanged profile and a returning user's login need no database (0: no cache)"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) { p.NotNegative(&o.TTL) }

// Backend keeps the copies: memory.UserCache in this process,
// redisstore.UserCache in Redis. A backend's failures are errors of any
// kind; the cache then reads the repo.
type Backend interface {
	// Get returns the copy of id's user; ok is false when there is none.
	Get(ctx context.Context, id domain.Identity) (u domain.User, ok bool, err error)
	// Put keeps u as the copy of its user for ttl, atomically unless the
	// copy held is newer: of the same row (User.ID) at a revision at least
	// u's. The backend may keep u itself: the caller never changes it
	// afterwards (a change's user is written once and kept, not copied
	// again).
	Put(ctx context.Context, u *domain.User, ttl time.Duration) error
	// Drop removes the copy of id's user; dropping none is no error.
	Drop(ctx context.Context, id domain.Identity) error
}

// UpdaterFrom is a repo that updates a user from a copy without reading it
// first (sqlstore.UserRepo): next, update's change of seen, is written only
// if the stored revision is still seen's, and otherwise it is UpdateUser.
type UpdaterFrom interface {
	UpdateUserFrom(ctx context.Context, seen, next domain.User, update func(*domain.User) (bool, error)) (domain.User, error)
}

// Observer is told of every lookup of a copy: the operation (get,
// ensure_user, update_user) and whether a copy answered.
type Observer func(op string, hit bool)

// Repo is a ports.UserRepo with a cache in front of another.
type Repo struct {
	inner   ports.UserRepo
	from    UpdaterFrom // inner's, when it has one
	cache   Backend
	ttl     time.Duration
	log     *slog.Logger
	observe Observer
}

var _ ports.UserRepo = (*Repo)(nil)

// New returns inner with copies kept in cache for ttl. When inner is an
// UpdaterFrom, a change is written from the copy without reading the user.
// log receives the failures of the cache (nil discards them); observe, when
// set, counts hits and misses.
func New(inner ports.UserRepo, cache Backend, ttl time.Duration, log *slog.Logger, observe Observer) (*Repo, error) {
	if inner == nil || cache == nil || ttl <= 0 {
		return nil, errors.New("usercache: a repo, a backend and a positive TTL are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if observe == nil {
		observe = func(string, bool) {}
	}
	from, _ := inner.(UpdaterFrom)
	return &Repo{inner: inner, from: from, cache: cache, ttl: ttl, log: log, observe: observe}, nil
}

// copyOf returns the copy of id's user, if the backend has one and
// answers; a backend that fails is a miss.
func (r *Repo) copyOf(ctx context.Context, op string, id domain.Identity) (domain.User, bool) {
	u, ok, known := domain.User{}, false, false
	if sc := scopeOf(ctx); sc != nil {
		u, ok, known = sc.take(id) // what the request's session read brought
	}
	if !known {
		var err error
		u, ok, err = r.cache.Get(ctx, id)
		if err != nil {
			r.log.LogAttrs(ctx, slog.LevelWarn, "user cache not read", slog.String("op", op), slog.String("error", err.Error()))
			ok = false
		}
	}
	ok = ok && u.Identity() == id && u.Revision > 0
	r.observe(op, ok)
	return u, ok
}

// keep puts u as the copy of its user; when that fails, the copy is
// dropped (best effort), so no older one outlives the write.
func (r *Repo) keep(ctx context.Context, u *domain.User) {
	err := r.cache.Put(ctx, u, r.ttl)
	if err == nil {
		return
	}
	if derr := r.cache.Drop(ctx, u.Identity()); derr != nil {
		err = fmt.Errorf("%w; drop: %w", err, derr)
	}
	r.log.LogAttrs(ctx, slog.LevelWarn, "user cache not updated", slog.String("error", err.Error()))
}

// drop removes the copy of id's user, logging a failure.
func (r *Repo) drop(ctx context.Context, id domain.Identity) {
	if err := r.cache.Drop(ctx, id); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "user cache entry not dropped", slog.String("error", err.Error()))
	}
}

// settle keeps what a write of the repo answered: the new copy, or no copy
// of a user the repo does not have.
func (r *Repo) settle(ctx context.Context, id domain.Identity, u domain.User, err error) (domain.User, error) {
	switch {
	case err == nil:
		r.keep(ctx, &u)
	case domain.KindOf(err) == domain.KindNotFound:
		r.drop(ctx, id)
	}
	return u, err
}

// Get implements ports.UserRepo: the copy, or the repo's user, kept.
func (r *Repo) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	if u, ok := r.copyOf(ctx, "get", id); ok {
		return u, nil
	}
	u, err := r.inner.Get(ctx, id)
	return r.settle(ctx, id, u, err)
}

// EnsureUser implements ports.UserRepo: a copy (with unionID, when one is
// given) is a user that exists, and answers without the repo.
func (r *Repo) EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	if u, ok := r.copyOf(ctx, "ensure_user", id); ok && (unionID == "" || u.UnionID == domain.CleanID(unionID)) {
		return u, nil
	}
	u, err := r.inner.EnsureUser(ctx, id, unionID, now)
	return r.settle(ctx, id, u, err)
}

// UpdateUser implements ports.UserRepo: update runs on the copy first; no
// change answers the copy, a change is written from it (compare and set on
// its revision) when the repo can, else by the repo's UpdateUser.
func (r *Repo) UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	if seen, ok := r.copyOf(ctx, "update_user", id); ok {
		// next lives on the heap (update may keep its pointer), and is
		// what the backend keeps after the write: one copy of the user.
		next := new(domain.User)
		*next = seen
		changed, err := update(next)
		if err != nil {
			return domain.User{}, err
		}
		if !changed {
			return seen, nil
		}
		if r.from != nil {
			// next is update's result on seen: the repo writes it as it
			// is when seen is still current (cleaning a profile again
			// was about 8% of a changed upload's instructions).
			u, err := r.from.UpdateUserFrom(ctx, seen, *next, update)
			if err != nil {
				return r.settle(ctx, id, u, err)
			}
			*next = u
			r.keep(ctx, next)
			return u, nil
		}
	}
	u, err := r.inner.UpdateUser(ctx, id, update)
	return r.settle(ctx, id, u, err)
}

// Delete implements ports.UserRepo: the user, then its copy.
func (r *Repo) Delete(ctx context.Context, id domain.Identity) error {
	if err := r.inner.Delete(ctx, id); err != nil {
		return err
	}
	if err := r.cache.Drop(ctx, id); err != nil {
		return fmt.Errorf("drop the cached user: %w", err)
	}
	return nil
}

// ByPhone implements ports.UserRepo, by the repo.
func (r *Repo) ByPhone(ctx context.Context, appID, pure string) ([]domain.Identity, error) {
	return r.inner.ByPhone(ctx, appID, pure)
}

// ByUnionID implements ports.UserRepo, by the repo.
func (r *Repo) ByUnionID(ctx context.Context, unionID string) ([]domain.Identity, error) {
	return r.inner.ByUnionID(ctx, unionID)
}

// AvatarsInUse implements ports.UserRepo, by the repo.
func (r *Repo) AvatarsInUse(ctx context.Context, names []string) (map[string]bool, error) {
	return r.inner.AvatarsInUse(ctx, names)
}

// Ping implements ports.UserRepo: the repo's answer (the cache is a
// speed-up; the session store's own ping covers where it lives).
func (r *Repo) Ping(ctx context.Context) error { return r.inner.Ping(ctx) }

// ByAvatarTrace implements ports.UserRepo, by the repo.
func (r *Repo) ByAvatarTrace(ctx context.Context, appID, traceID string) (domain.Identity, error) {
	return r.inner.ByAvatarTrace(ctx, appID, traceID)
}

// PendingAvatars implements ports.UserRepo, by the repo.
func (r *Repo) PendingAvatars(ctx context.Context, before time.Time, limit int) ([]domain.Identity, error) {
	return r.inner.PendingAvatars(ctx, before, limit)
}
