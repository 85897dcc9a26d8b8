package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Inbox implements ports.Inbox on the wx_push_inbox table: a queue (see
// queue.go) of the events WeChat pushed, unique by (app, dedup key).
type Inbox struct {
	*queue[domain.PushEvent, inboxRow]
	insert string
}

var _ ports.Inbox = (*Inbox)(nil)

// inboxRow is a wx_push_inbox row.
type inboxRow struct {
	jobRow
	DedupKey   string `db:"dedup_key"`
	Kind       string `db:"kind"`
	FromUser   string `db:"from_user"`
	CreateTime int64  `db:"create_time"`
	Payload    string `db:"payload"`
}

func (r inboxRow) job() ports.Job[domain.PushEvent] {
	return jobOf(r.jobRow, domain.PushEvent{AppID: r.AppID, Kind: r.Kind, DedupKey: r.DedupKey, FromUser: r.FromUser,
		CreateTime: r.CreateTime, Payload: json.RawMessage(r.Payload), ReceivedAt: r.CreatedAt.UTC()})
}

func newInbox(db *sqlx.DB, d dialect, timeout time.Duration) *Inbox {
	const table = "wx_push_inbox"
	in := &Inbox{queue: newQueue(db, d, timeout, table, `dedup_key, kind, from_user, create_time, payload`, inboxRow.job)}
	insert := `INSERT INTO ` + table + ` (app_id, lane, state, attempts, next_attempt_at, created_at, dedup_key, kind, from_user, create_time, payload)
		VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)`
	// A duplicate is no row inserted: PostgreSQL and SQLite say so by
	// skipping the conflict; MySQL by error 1062 (its ON DUPLICATE KEY
	// UPDATE counts a found row as affected under CLIENT_FOUND_ROWS, and
	// INSERT IGNORE would hide other errors too).
	if d.name != mysqlDialect.name {
		insert += ` ON CONFLICT (app_id, dedup_key) DO NOTHING`
	}
	in.insert = d.rebind(insert)
	return in
}

// Store implements ports.Inbox: one INSERT, durable when it returns.
func (in *Inbox) Store(ctx context.Context, e domain.PushEvent) (bool, error) {
	ctx, cancel := in.bound(ctx)
	defer cancel()
	at := dbTime(e.ReceivedAt)
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		var stored bool
		if stored, err = in.store(ctx, e, at); err == nil {
			return stored, nil
		}
		if !transient(err) {
			break
		}
	}
	return false, in.fail("store", err)
}

func (in *Inbox) store(ctx context.Context, e domain.PushEvent, at time.Time) (bool, error) {
	res, err := in.db.ExecContext(ctx, in.insert, e.AppID, e.Lane(), ports.JobPending, at, at,
		e.DedupKey, e.Kind, e.FromUser, e.CreateTime, string(e.Payload))
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1062 {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
