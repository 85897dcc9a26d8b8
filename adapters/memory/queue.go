package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Queue is a ports.Queue in this process, for tests and one server without
// a database worth the name: what it holds is lost with the process. An
// item's app and lane are its own (the functions given to NewQueue).
type Queue[T any] struct {
	mu   sync.Mutex
	jobs []*queued[T] // by ID, ascending; IDs start at 1
	app  func(T) string
	lane func(T) string
}

type queued[T any] struct {
	ports.Job[T]
	app, lane string
}

// NewQueue returns an empty queue whose items' app and lane are app(item)
// and lane(item).
func NewQueue[T any](app, lane func(T) string) *Queue[T] {
	return &Queue[T]{app: app, lane: lane}
}

// add appends item, pending and due at now, and returns its ID.
func (q *Queue[T]) add(item T, now time.Time) int64 {
	j := &queued[T]{Job: ports.Job[T]{ID: int64(len(q.jobs) + 1), Item: item, State: ports.JobPending,
		NextAttemptAt: now, CreatedAt: now}, app: q.app(item), lane: q.lane(item)}
	q.jobs = append(q.jobs, j)
	return j.ID
}

// Claim implements ports.Queue.
func (q *Queue[T]) Claim(_ context.Context, owner string, max int, now, until time.Time) ([]ports.Job[T], error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []ports.Job[T]
	blocked := map[string]bool{} // lanes with an older pending job
	for _, j := range q.jobs {
		if len(out) == max {
			break
		}
		if j.State != ports.JobPending {
			continue
		}
		if blocked[j.lane] {
			continue
		}
		blocked[j.lane] = true
		if j.NextAttemptAt.After(now) || (!j.LeaseUntil.IsZero() && j.LeaseUntil.After(now)) {
			continue
		}
		j.LeaseOwner, j.LeaseUntil = owner, until
		j.Attempts++
		out = append(out, j.Job)
	}
	return out, nil
}

// leased returns job id if owner holds its lease.
func (q *Queue[T]) leased(id int64, owner string) (*queued[T], error) {
	if id < 1 || id > int64(len(q.jobs)) {
		return nil, domain.ErrNotFound
	}
	j := q.jobs[id-1]
	if j.State != ports.JobPending || j.LeaseOwner != owner {
		return nil, domain.Wrap(domain.KindInternal, fmt.Errorf("job %d: %w", id, ports.ErrLeaseLost))
	}
	return j, nil
}

// Done implements ports.Queue.
func (q *Queue[T]) Done(_ context.Context, id int64, owner string, now time.Time) error {
	return q.finish(id, owner, ports.JobDone, now, "")
}

// Bury implements ports.Queue.
func (q *Queue[T]) Bury(_ context.Context, id int64, owner string, now time.Time, lastErr string) error {
	return q.finish(id, owner, ports.JobDead, now, lastErr)
}

func (q *Queue[T]) finish(id int64, owner, state string, now time.Time, lastErr string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, err := q.leased(id, owner)
	if err != nil {
		return err
	}
	j.State, j.DoneAt, j.LeaseOwner, j.LeaseUntil = state, now, "", time.Time{}
	if lastErr != "" {
		j.LastError = lastErr
	}
	return nil
}

// Retry implements ports.Queue.
func (q *Queue[T]) Retry(_ context.Context, id int64, owner string, next time.Time, lastErr string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, err := q.leased(id, owner)
	if err != nil {
		return err
	}
	j.NextAttemptAt, j.LastError, j.LeaseOwner, j.LeaseUntil = next, lastErr, "", time.Time{}
	return nil
}

// Get implements ports.Queue.
func (q *Queue[T]) Get(_ context.Context, id int64) (ports.Job[T], error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id < 1 || id > int64(len(q.jobs)) {
		return ports.Job[T]{}, domain.ErrNotFound
	}
	return q.jobs[id-1].Job, nil
}

// List implements ports.Queue.
func (q *Queue[T]) List(_ context.Context, f ports.JobFilter) ([]ports.Job[T], error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []ports.Job[T]
	for _, j := range slices.Backward(q.jobs) {
		if len(out) == limit {
			break
		}
		if (f.AppID == "" || j.app == f.AppID) && (f.State == "" || j.State == f.State) && (f.Before == 0 || j.ID < f.Before) {
			out = append(out, j.Job)
		}
	}
	return out, nil
}

// Replay implements ports.Queue.
func (q *Queue[T]) Replay(_ context.Context, id int64, now time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id < 1 || id > int64(len(q.jobs)) {
		return domain.ErrNotFound
	}
	j := q.jobs[id-1]
	if j.State != ports.JobDead {
		return domain.Malformed("id", fmt.Sprintf("job %d is %s, not dead", id, j.State))
	}
	j.State, j.Attempts, j.NextAttemptAt, j.DoneAt = ports.JobPending, 0, now, time.Time{}
	return nil
}

// OldestPending implements ports.Queue.
func (q *Queue[T]) OldestPending(context.Context) (time.Time, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, j := range q.jobs {
		if j.State == ports.JobPending {
			return j.CreatedAt, true, nil
		}
	}
	return time.Time{}, false, nil
}

// Inbox is a ports.Inbox in this process (see Queue).
type Inbox struct {
	*Queue[domain.PushEvent]
	keys map[[2]string]bool // (app, dedup key) stored
}

var _ ports.Inbox = (*Inbox)(nil)

// NewInbox returns an empty inbox.
func NewInbox() *Inbox {
	return &Inbox{
		Queue: NewQueue(func(e domain.PushEvent) string { return e.AppID }, domain.PushEvent.Lane),
		keys:  map[[2]string]bool{},
	}
}

// Store implements ports.Inbox.
func (in *Inbox) Store(ctx context.Context, e domain.PushEvent) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, domain.Wrap(domain.KindUnavailable, err)
	}
	if e.AppID == "" || e.DedupKey == "" {
		return false, domain.Wrap(domain.KindInternal, errors.New("store push event: no app or dedup key"))
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	k := [2]string{e.AppID, e.DedupKey}
	if in.keys[k] {
		return false, nil
	}
	in.keys[k] = true
	in.add(e, e.ReceivedAt)
	return true, nil
}
