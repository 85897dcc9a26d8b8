package portfake

import (
	"context"
	"slices"
	"sync"
	"time"

	"wxbackend/domain"
)

// Users is a UserRepo in a map that fails on demand (SetErr) and counts its
// writes (WriteCount).
type Users struct {
	mu     sync.Mutex
	users  map[domain.Identity]domain.User
	next   int64
	err    error
	writes int // calls that changed something
}

// NewUsers returns an empty repo.
func NewUsers() *Users { return &Users{users: map[domain.Identity]domain.User{}} }

// EnsureUser implements ports.UserRepo.
func (r *Users) EnsureUser(_ context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return domain.User{}, r.err
	}
	unionID = domain.CleanID(unionID)
	u, ok := r.users[id]
	if !ok {
		r.next++
		now = now.UTC().Truncate(time.Microsecond)
		u = domain.User{ID: r.next, AppID: id.AppID, OpenID: id.OpenID, UnionID: unionID, CreatedAt: now, UpdatedAt: now, Revision: 1}
		r.writes++
	} else if unionID != "" && u.UnionID != unionID {
		u.UnionID = unionID
		u.Revision++
		r.writes++
	}
	r.users[id] = u
	return u, nil
}

// Get implements ports.UserRepo.
func (r *Users) Get(_ context.Context, id domain.Identity) (domain.User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return domain.User{}, r.err
	}
	u, ok := r.users[id]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	return u, nil
}

// UpdateUser implements ports.UserRepo.
func (r *Users) UpdateUser(_ context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return domain.User{}, r.err
	}
	u, ok := r.users[id]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	next := u
	changed, err := update(&next)
	if err != nil {
		return domain.User{}, err
	}
	if !changed {
		return u, nil
	}
	// Only what UpdateUser may write.
	u.Profile, u.UserSet, u.Avatar, u.Phone = next.Profile.Sanitized(), next.UserSet, next.Avatar, next.Phone
	u.Review = next.Review
	u.Review.Since = next.Review.Since.UTC().Truncate(time.Microsecond) // as a database keeps it
	u.UpdatedAt = next.UpdatedAt.UTC().Truncate(time.Microsecond)
	u.Revision++
	r.users[id] = u
	r.writes++
	return u, nil
}

// ByPhone implements ports.UserRepo.
func (r *Users) ByPhone(_ context.Context, appID, pure string) ([]domain.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	var out []domain.Identity
	for id, u := range r.users {
		if id.AppID == appID && pure != "" && u.Phone.PureNumber == pure {
			out = append(out, id)
		}
	}
	return out, nil
}

// Delete implements ports.UserRepo.
func (r *Users) Delete(_ context.Context, id domain.Identity) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	if _, ok := r.users[id]; ok {
		delete(r.users, id)
		r.writes++
	}
	return nil
}

// ByUnionID implements ports.UserRepo.
func (r *Users) ByUnionID(_ context.Context, unionID string) ([]domain.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	var out []domain.Identity
	for id, u := range r.users {
		if unionID != "" && u.UnionID == unionID {
			out = append(out, id)
		}
	}
	return out, nil
}

// AvatarsInUse implements ports.UserRepo.
func (r *Users) AvatarsInUse(_ context.Context, names []string) (map[string]bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	asked := make(map[string]bool, len(names))
	for _, n := range names {
		asked[n] = true
	}
	inUse := map[string]bool{}
	for _, u := range r.users {
		if u.Avatar != "" && asked[u.Avatar] {
			inUse[u.Avatar] = true
		}
		if p := u.Review.Pending; p != "" && asked[p] { // waiting for WeChat's check
			inUse[p] = true
		}
	}
	return inUse, nil
}

// Ping implements ports.UserRepo.
func (r *Users) Ping(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// SetErr makes every call fail with err (nil: work again).
func (r *Users) SetErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// WriteCount returns how many calls changed something.
func (r *Users) WriteCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}

// ByAvatarTrace implements ports.UserRepo.
func (r *Users) ByAvatarTrace(_ context.Context, appID, traceID string) (domain.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return domain.Identity{}, r.err
	}
	for _, u := range r.users {
		if traceID != "" && u.AppID == appID && u.Review.TraceID == traceID {
			return u.Identity(), nil
		}
	}
	return domain.Identity{}, domain.ErrNotFound
}

// PendingAvatars implements ports.UserRepo.
func (r *Users) PendingAvatars(_ context.Context, before time.Time, limit int) ([]domain.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	var found []domain.User
	for _, u := range r.users {
		if u.Review.State == domain.AvatarPending && !u.Review.Since.After(before) {
			found = append(found, u)
		}
	}
	slices.SortFunc(found, func(a, b domain.User) int { return a.Review.Since.Compare(b.Review.Since) })
	var out []domain.Identity
	for _, u := range found[:min(limit, len(found))] {
		out = append(out, u.Identity())
	}
	return out, nil
}
