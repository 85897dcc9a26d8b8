package ports

import (
	"context"
	"errors"
	"time"

	"wxbackend/domain"
)

// Work that must survive a crash is a row first, then done by a worker that
// leases it (see app.Worker). A Queue is that mechanism, whatever the rows
// hold: the push inbox's events (Inbox) now, an outbox's messages next. Its
// items are in lanes (a user's, say): a lane's items are handed out one at a
// time, in the order they were added, so a worker never has two of a lane
// and a later item never overtakes an earlier one still pending.

// Job states.
const (
	JobPending = "pending" // waiting to be done, or being done under a lease
	JobDone    = "done"    // done (an event delivered)
	JobDead    = "dead"    // given up after too many attempts, kept for an operator
)

// Job is an item of a queue and its bookkeeping.
type Job[T any] struct {
	ID            int64
	Item          T
	State         string
	Attempts      int       // attempts started, this one included when claimed
	NextAttemptAt time.Time // when a pending job is due
	LeaseOwner    string
	LeaseUntil    time.Time // zero: not leased
	LastError     string
	CreatedAt     time.Time
	DoneAt        time.Time // zero until done or dead
}

// JobFilter selects jobs for an operator's list, newest first.
type JobFilter struct {
	AppID  string // "": every app
	State  string // "": every state
	Before int64  // only IDs below this (paging); 0: from the newest
	Limit  int    // at most this many (0: 100)
}

// ErrLeaseLost is in the chain of an error of Done, Retry or Bury called by
// a worker whose lease has been taken by another (it outlived it): the job's
// outcome is the other worker's to record.
var ErrLeaseLost = errors.New("queue: lease lost")

// Queue is a durable queue of leased jobs. Times come from the caller (its
// clock), so tests move them.
type Queue[T any] interface {
	// Claim leases up to max pending jobs due at now to owner until until,
	// counting an attempt of each, oldest first, at most one per lane and
	// none of a lane with an older pending job. A job whose lease has run
	// out is claimable again. Several workers claiming at once get
	// different jobs.
	Claim(ctx context.Context, owner string, max int, now, until time.Time) ([]Job[T], error)
	// Done records job id done at now, if owner still holds its lease.
	Done(ctx context.Context, id int64, owner string, now time.Time) error
	// Retry releases job id to be tried again at next, with the error of
	// the attempt, if owner still holds its lease.
	Retry(ctx context.Context, id int64, owner string, next time.Time, lastErr string) error
	// Bury gives job id up (dead) at now with the error of its last
	// attempt, if owner still holds its lease.
	Bury(ctx context.Context, id int64, owner string, now time.Time, lastErr string) error
	// Get returns job id, or KindNotFound.
	Get(ctx context.Context, id int64) (Job[T], error)
	// List returns the jobs f selects, newest first.
	List(ctx context.Context, f JobFilter) ([]Job[T], error)
	// Replay makes a dead job pending again, due at now with its attempts
	// reset. A job that is not dead is KindInvalidInput; none, KindNotFound.
	Replay(ctx context.Context, id int64, now time.Time) error
	// OldestPending returns when the oldest pending job was added; ok is
	// false when none is pending.
	OldestPending(ctx context.Context) (at time.Time, ok bool, err error)
}

// Inbox is the queue of events WeChat pushed (ports.Queue of
// domain.PushEvent, in lanes of PushEvent.Lane).
type Inbox interface {
	Queue[domain.PushEvent]
	// Store adds e as a pending job due at once, unless an event of its app
	// with its dedup key is stored (by any server): stored is false for
	// such a duplicate, which is no error. Store returns once e is durable.
	Store(ctx context.Context, e domain.PushEvent) (stored bool, err error)
}

// Webhook hands an event on to the app's own service.
type Webhook interface {
	// Deliver posts e (stored as job id) to e.AppID's webhook. An error
	// means it was not delivered and may be tried again; KindInvalidInput
	// when the app has no webhook.
	Deliver(ctx context.Context, id int64, e domain.PushEvent) error
}

// PushObserver is told what the push receiver and its worker do, for
// metrics. Labels it is given are bounded: configured appids, fixed reasons
// and results.
type PushObserver interface {
	// Received counts a verified event: stored, or a duplicate of a stored one.
	Received(appID string, duplicate bool)
	// Refused counts a push refused, by reason (signature, stale,
	// undecryptable, malformed, app, unavailable…).
	Refused(appID, reason string)
	// Delivery counts a delivery attempt by result (delivered, retry, dead).
	Delivery(appID, result string)
}
