package app

// Worker does the jobs of a durable queue (ports.Queue): it claims due jobs
// under a lease, hands each to its handler, and records the outcome: done;
// or tried again later, with exponential backoff and jitter; or, after the
// policy's attempts or a permanent error, dead, for an operator to replay.
// Leases let any number of servers run workers on one queue: each job is
// done by one at a time, and a crashed server's jobs are claimed again when
// their lease runs out. The push inbox's delivery (DeliverPush) is one
// handler; an outbox's sending would be another, on the same Worker.

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"wxbackend/ports"
)

// WorkerPolicy is how a Worker claims and retries.
type WorkerPolicy struct {
	Batch        int           // jobs claimed at once, handled in parallel
	Lease        time.Duration // how long a claim holds a job; a handler gets this long, less a margin
	MaxAttempts  int           // attempts before a job is dead
	BackoffBase  time.Duration // wait after the first failure, doubled after each
	BackoffMax   time.Duration // longest wait
	PollInterval time.Duration // how often an idle worker looks for due jobs
}

// Valid reports what is wrong with p, or nil.
func (p WorkerPolicy) Valid() error {
	if p.Batch < 1 || p.Lease <= 0 || p.MaxAttempts < 1 || p.BackoffBase <= 0 || p.BackoffMax < p.BackoffBase || p.PollInterval <= 0 {
		return errors.New("app: a worker needs a batch and attempts of at least 1, a positive lease, backoff and poll interval, and a longest backoff no shorter than the first")
	}
	return nil
}

// Backoff is the wait after a job's attempt-th failed attempt: BackoffBase
// doubled attempt-1 times, at most BackoffMax, then "equal jitter" (half of
// it, plus up to as much again at random), so retries of jobs that failed
// together spread out. r is a number in [0, 1).
func (p WorkerPolicy) Backoff(attempt int, r float64) time.Duration {
	d := p.BackoffBase
	for i := 1; i < attempt && d < p.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.BackoffMax)
	return d/2 + time.Duration(r*float64(d/2))
}

// Permanent marks an error of a handler as final: the job is dead at once,
// however many attempts it has left (an outbox's message WeChat refuses
// for good, say).
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Worker results, for metrics.
const (
	ResultDone  = "delivered"
	ResultRetry = "retry"
	ResultDead  = "dead"
)

// Worker runs a handler on a queue's jobs.
type Worker[T any] struct {
	queue   ports.Queue[T]
	handle  func(context.Context, ports.Job[T]) error
	clock   ports.Clock
	policy  WorkerPolicy
	owner   string
	log     *slog.Logger
	observe func(ports.Job[T], string) // each attempt's result; nil: none
	random  func() float64
}

// NewWorker returns a worker of q that hands each job to handle, under the
// name owner (unique per process: it holds the leases), observing each
// attempt's result (ResultDone, ResultRetry, ResultDead) if observe is not
// nil.
func NewWorker[T any](q ports.Queue[T], handle func(context.Context, ports.Job[T]) error, clock ports.Clock,
	p WorkerPolicy, owner string, log *slog.Logger, observe func(ports.Job[T], string)) (*Worker[T], error) {
	if err := p.Valid(); err != nil {
		return nil, err
	}
	if q == nil || handle == nil || clock == nil || owner == "" {
		return nil, errors.New("app: a worker needs a queue, a handler, a clock and an owner")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker[T]{queue: q, handle: handle, clock: clock, policy: p, owner: owner, log: log, observe: observe, random: rand.Float64}, nil
}

// RunOnce claims the jobs due now, at most a batch, handles them in
// parallel and records their outcomes. It returns how many it claimed.
func (w *Worker[T]) RunOnce(ctx context.Context) (int, error) {
	now := w.clock.Now()
	jobs, err := w.queue.Claim(ctx, w.owner, w.policy.Batch, now, now.Add(w.policy.Lease))
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.do(ctx, j)
		}()
	}
	wg.Wait()
	return len(jobs), nil
}

// leaseMargin is kept between a handler's deadline and its lease's end, for
// recording the outcome while the lease still holds.
const leaseMargin = 5 * time.Second

func (w *Worker[T]) do(ctx context.Context, j ports.Job[T]) {
	budget := w.policy.Lease - leaseMargin
	if budget < w.policy.Lease/2 {
		budget = w.policy.Lease / 2
	}
	hctx, cancel := context.WithTimeout(ctx, budget)
	err := w.handle(hctx, j)
	cancel()
	if ctx.Err() != nil {
		return // stopping: the lease runs out and another attempt follows
	}
	now := w.clock.Now()
	result := ResultDone
	switch {
	case err == nil:
		err = w.queue.Done(ctx, j.ID, w.owner, now)
	case IsPermanent(err) || j.Attempts >= w.policy.MaxAttempts:
		result = ResultDead
		w.log.LogAttrs(ctx, slog.LevelWarn, "job dead", slog.Int64("id", j.ID), slog.Int("attempts", j.Attempts), slog.String("error", err.Error()))
		err = w.queue.Bury(ctx, j.ID, w.owner, now, err.Error())
	default:
		result = ResultRetry
		next := now.Add(w.policy.Backoff(j.Attempts, w.random()))
		w.log.LogAttrs(ctx, slog.LevelInfo, "job retried", slog.Int64("id", j.ID), slog.Int("attempts", j.Attempts),
			slog.Time("next", next), slog.String("error", err.Error()))
		err = w.queue.Retry(ctx, j.ID, w.owner, next, err.Error())
	}
	if err != nil {
		// The lease ran out and another worker has the job (it will
		// record its own outcome), or the database is away (the lease runs
		// out and the job is tried again).
		w.log.LogAttrs(ctx, slog.LevelWarn, "job outcome not recorded", slog.Int64("id", j.ID), slog.String("outcome", result), slog.String("error", err.Error()))
		return
	}
	if w.observe != nil {
		w.observe(j, result)
	}
}

// Run works until ctx ends: a full batch is followed at once by the next
// claim; otherwise the worker waits the poll interval. A failed claim (the
// database away) is logged once until claims work again.
func (w *Worker[T]) Run(ctx context.Context) {
	failing := false
	for {
		n, err := w.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			w.log.LogAttrs(ctx, slog.LevelError, "claiming jobs failed", slog.String("error", err.Error()))
		case err == nil && failing:
			failing = false
			w.log.LogAttrs(ctx, slog.LevelInfo, "claiming jobs works again")
		}
		if err == nil && n == w.policy.Batch {
			continue
		}
		t := time.NewTimer(w.policy.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
