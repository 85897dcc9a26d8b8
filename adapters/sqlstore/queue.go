package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"wxbackend/domain"
	"wxbackend/ports"
)

// queueColumns are the columns of every queue table (see ports.Queue and
// the migrations of wx_push_inbox): a second queue (an outbox) is a table
// with these and its own, and a queue[T, R] over it.
const queueColumns = `id, app_id, lane, state, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, done_at`

// jobRow is a queue table's row, its queue columns; a table's row type
// embeds it.
type jobRow struct {
	ID            int64        `db:"id"`
	AppID         string       `db:"app_id"`
	Lane          string       `db:"lane"`
	State         string       `db:"state"`
	Attempts      int          `db:"attempts"`
	NextAttemptAt time.Time    `db:"next_attempt_at"`
	LeaseOwner    string       `db:"lease_owner"`
	LeaseUntil    sql.NullTime `db:"lease_until"`
	LastError     string       `db:"last_error"`
	CreatedAt     time.Time    `db:"created_at"`
	DoneAt        sql.NullTime `db:"done_at"`
}

// jobOf returns the job of row r holding item.
func jobOf[T any](r jobRow, item T) ports.Job[T] {
	j := ports.Job[T]{ID: r.ID, Item: item, State: r.State, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.UTC(),
		LeaseOwner: r.LeaseOwner, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC()}
	if r.LeaseUntil.Valid {
		j.LeaseUntil = r.LeaseUntil.Time.UTC()
	}
	if r.DoneAt.Valid {
		j.DoneAt = r.DoneAt.Time.UTC()
	}
	return j
}

// maxErrorLen bounds a job's last error (its column's size).
const maxErrorLen = 1000

// queue implements ports.Queue[T] on a table whose rows scan into R (a
// struct embedding jobRow, with the table's own columns); job turns a row
// into its job. The SQL is written once, for every queue table.
type queue[T any, R any] struct {
	db      *sqlx.DB
	d       dialect
	table   string
	columns string // every column, queueColumns first
	job     func(R) ports.Job[T]
	timeout time.Duration
	q       struct{ claim, lease, byIDs, finish, retry, get, replay, oldest string }
}

func newQueue[T any, R any](db *sqlx.DB, d dialect, timeout time.Duration, table, ownColumns string, job func(R) ports.Job[T]) *queue[T, R] {
	q := &queue[T, R]{db: db, d: d, table: table, columns: queueColumns + ", " + ownColumns, job: job, timeout: timeout}
	// A job is due when pending, at or past its time, not leased (or its
	// lease ran out), and no older job of its lane is pending: a lane's jobs
	// go one at a time, in order of ID. Rows other claimers hold are
	// skipped (the lease they write is the lock; the row lock lives for the
	// claim's transaction only).
	q.q.claim = d.rebind(`SELECT q.id FROM ` + table + ` q WHERE q.state = ? AND q.next_attempt_at <= ?
		AND (q.lease_until IS NULL OR q.lease_until <= ?)
		AND ` + d.laneHead(table) + `
		ORDER BY q.id LIMIT ?` + d.skipLocked())
	q.q.lease = `UPDATE ` + table + ` SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id IN (?)`
	q.q.byIDs = `SELECT ` + q.columns + ` FROM ` + table + ` WHERE id IN (?) ORDER BY id`
	q.q.finish = d.rebind(`UPDATE ` + table + ` SET state = ?, done_at = ?, last_error = ?, lease_owner = '', lease_until = NULL
		WHERE id = ? AND state = ? AND lease_owner = ?`)
	q.q.retry = d.rebind(`UPDATE ` + table + ` SET next_attempt_at = ?, last_error = ?, lease_owner = '', lease_until = NULL
		WHERE id = ? AND state = ? AND lease_owner = ?`)
	q.q.get = d.rebind(`SELECT ` + q.columns + ` FROM ` + table + ` WHERE id = ?`)
	q.q.replay = d.rebind(`UPDATE ` + table + ` SET state = ?, attempts = 0, next_attempt_at = ?, done_at = NULL,
		lease_owner = '', lease_until = NULL WHERE id = ? AND state = ?`)
	q.q.oldest = d.rebind(`SELECT created_at FROM ` + table + ` WHERE state = ? ORDER BY id LIMIT 1`)
	return q
}

// laneHead is the claim's condition that job q is its lane's first pending
// one (its one argument: the pending state). On PostgreSQL it is "q is the
// lane's lowest pending ID", a subquery run per candidate on the lane index:
// the NOT EXISTS form is planned, on a table without statistics (a new one,
// until autovacuum's first ANALYZE), as a nested loop that compares every
// candidate with every pending job, so that a claim's cost grows with the
// square of the backlog (1.8 million rows filtered, 0.5 s, with 1,300
// pending) and a worker that falls behind never catches up. Elsewhere the
// NOT EXISTS form stays, as measured.
func (d dialect) laneHead(table string) string {
	if d.name == postgresDialect.name {
		return `q.id = (SELECT o.id FROM ` + table + ` o WHERE o.lane = q.lane AND o.state = ? ORDER BY o.id LIMIT 1)`
	}
	return `NOT EXISTS (SELECT 1 FROM ` + table + ` o WHERE o.lane = q.lane AND o.state = ? AND o.id < q.id)`
}

// skipLocked is appended to the claim's SELECT: MySQL 8, MariaDB 10.6+ and
// PostgreSQL lock the rows claimed and skip those another claimer holds;
// SQLite's write transactions are serial (one at a time, immediate), so a
// claim there is alone anyway.
func (d dialect) skipLocked() string {
	if d.name == sqliteDialect.name {
		return ""
	}
	return ` FOR UPDATE SKIP LOCKED`
}

// claimTx is the claim transaction's isolation: on MySQL read committed, so
// that the claim's scan takes no gap locks that would hold up inserts.
func (d dialect) claimTx() *sql.TxOptions {
	if d.name == mysqlDialect.name {
		return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return nil
}

func (q *queue[T, R]) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if q.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, q.timeout)
}

func (q *queue[T, R]) fail(op string, err error) error {
	return domain.Wrap(classify(err), fmt.Errorf("%s %s %s: %w", q.d.name, q.table, op, err))
}

// Claim implements ports.Queue: in one transaction, the due jobs are
// selected (locked, skipping those others hold), leased and read.
func (q *queue[T, R]) Claim(ctx context.Context, owner string, max int, now, until time.Time) ([]ports.Job[T], error) {
	if max <= 0 {
		return nil, nil
	}
	ctx, cancel := q.bound(ctx)
	defer cancel()
	var jobs []ports.Job[T]
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if jobs, err = q.claim(ctx, owner, max, dbTime(now), dbTime(until)); err == nil || !transient(err) {
			break
		}
	}
	if err != nil {
		return nil, q.fail("claim", err)
	}
	return jobs, nil
}

func (q *queue[T, R]) claim(ctx context.Context, owner string, max int, now, until time.Time) ([]ports.Job[T], error) {
	tx, err := q.db.BeginTxx(ctx, q.d.claimTx())
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, q.q.claim, ports.JobPending, now, now, ports.JobPending, max); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, tx.Commit()
	}
	lease, args, err := sqlx.In(q.q.lease, owner, until, ids)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, q.d.rebind(lease), args...); err != nil {
		return nil, err
	}
	read, args, err := sqlx.In(q.q.byIDs, ids)
	if err != nil {
		return nil, err
	}
	var rows []R
	if err := tx.SelectContext(ctx, &rows, q.d.rebind(read), args...); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	out := make([]ports.Job[T], len(rows))
	for i, r := range rows {
		out[i] = q.job(r)
	}
	return out, nil
}

// Done implements ports.Queue.
func (q *queue[T, R]) Done(ctx context.Context, id int64, owner string, now time.Time) error {
	return q.leased(ctx, "done", id, q.q.finish, ports.JobDone, dbTime(now), "", id, ports.JobPending, owner)
}

// Bury implements ports.Queue.
func (q *queue[T, R]) Bury(ctx context.Context, id int64, owner string, now time.Time, lastErr string) error {
	return q.leased(ctx, "bury", id, q.q.finish, ports.JobDead, dbTime(now), clip(lastErr), id, ports.JobPending, owner)
}

// Retry implements ports.Queue.
func (q *queue[T, R]) Retry(ctx context.Context, id int64, owner string, next time.Time, lastErr string) error {
	return q.leased(ctx, "retry", id, q.q.retry, dbTime(next), clip(lastErr), id, ports.JobPending, owner)
}

// clip cleans an error message and bounds it to its column.
func clip(s string) string { return domain.CleanText(s, maxErrorLen) }

// leased runs an update of a job that applies only while its lease is the
// caller's; none applied is ErrLeaseLost (or not found).
func (q *queue[T, R]) leased(ctx context.Context, op string, id int64, stmt string, args ...any) error {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	res, err := q.db.ExecContext(ctx, stmt, args...)
	if err != nil {
		return q.fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	if _, err := q.Get(ctx, id); err != nil {
		return err
	}
	return domain.Wrap(domain.KindInternal, fmt.Errorf("%s job %d: %w", op, id, ports.ErrLeaseLost))
}

// Get implements ports.Queue.
func (q *queue[T, R]) Get(ctx context.Context, id int64) (ports.Job[T], error) {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	var r R
	err := q.db.GetContext(ctx, &r, q.q.get, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ports.Job[T]{}, domain.ErrNotFound
	}
	if err != nil {
		return ports.Job[T]{}, q.fail("get", err)
	}
	return q.job(r), nil
}

// List implements ports.Queue.
func (q *queue[T, R]) List(ctx context.Context, f ports.JobFilter) ([]ports.Job[T], error) {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	query, args := `SELECT `+q.columns+` FROM `+q.table+` WHERE 1 = 1`, []any{}
	if f.AppID != "" {
		query, args = query+` AND app_id = ?`, append(args, f.AppID)
	}
	if f.State != "" {
		query, args = query+` AND state = ?`, append(args, f.State)
	}
	if f.Before > 0 {
		query, args = query+` AND id < ?`, append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query, args = query+` ORDER BY id DESC LIMIT ?`, append(args, limit)
	var rows []R
	if err := q.db.SelectContext(ctx, &rows, q.d.rebind(query), args...); err != nil {
		return nil, q.fail("list", err)
	}
	out := make([]ports.Job[T], len(rows))
	for i, r := range rows {
		out[i] = q.job(r)
	}
	return out, nil
}

// Replay implements ports.Queue.
func (q *queue[T, R]) Replay(ctx context.Context, id int64, now time.Time) error {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	res, err := q.db.ExecContext(ctx, q.q.replay, ports.JobPending, dbTime(now), id, ports.JobDead)
	if err != nil {
		return q.fail("replay", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	j, err := q.Get(ctx, id)
	if err != nil {
		return err
	}
	return domain.Malformed("id", fmt.Sprintf("job %d is %s, not dead", id, j.State))
}

// OldestPending implements ports.Queue: the pending job of the lowest ID,
// the first added.
func (q *queue[T, R]) OldestPending(ctx context.Context) (time.Time, bool, error) {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	var at time.Time
	err := q.db.GetContext(ctx, &at, q.q.oldest, ports.JobPending)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, q.fail("oldest pending", err)
	}
	return at.UTC(), true, nil
}
