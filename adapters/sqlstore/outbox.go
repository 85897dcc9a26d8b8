package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Outbox implements ports.Outbox on the wx_message_outbox table: a queue
// (see queue.go) of subscribe messages, unique by (app, idempotency key).
type Outbox struct {
	*queue[domain.Message, outboxRow]
	q2 struct{ insert, byKey, byMsgID, outcome string }
}

var _ ports.Outbox = (*Outbox)(nil)

// outboxRow is a wx_message_outbox row.
type outboxRow struct {
	jobRow
	IdempotencyKey string `db:"idempotency_key"`
	OpenID         string `db:"open_id"`
	TemplateID     string `db:"template_id"`
	Request        string `db:"request"`
	Status         string `db:"status"`
	MsgID          int64  `db:"msg_id"`
	ErrCode        int    `db:"err_code"`
	UnknownCount   int    `db:"unknown_count"`
}

func (r outboxRow) job() ports.Job[domain.Message] {
	var req domain.MessageRequest
	_ = json.Unmarshal([]byte(r.Request), &req) // written by Add from the same type
	m := domain.Message{AppID: r.AppID, OpenID: r.OpenID, TemplateID: r.TemplateID, IdempotencyKey: r.IdempotencyKey,
		MessageOutcome: domain.MessageOutcome{Status: r.Status, MsgID: r.MsgID, ErrCode: r.ErrCode, Unknown: r.UnknownCount}}
	return jobOf(r.jobRow, m.WithRequest(req))
}

func newOutbox(db *sqlx.DB, d dialect, timeout time.Duration) *Outbox {
	const table = "wx_message_outbox"
	o := &Outbox{queue: newQueue(db, d, timeout, table,
		`idempotency_key, open_id, template_id, request, status, msg_id, err_code, unknown_count`, outboxRow.job)}
	insert := `INSERT INTO ` + table + ` (app_id, lane, state, attempts, next_attempt_at, created_at, idempotency_key, open_id, template_id, request, status)
		VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)`
	// As the inbox's: a duplicate is no row inserted (MySQL: error 1062).
	if d.name != mysqlDialect.name {
		insert += ` ON CONFLICT (app_id, idempotency_key) DO NOTHING`
	}
	o.q2.insert = d.rebind(insert)
	o.q2.byKey = d.rebind(`SELECT ` + o.columns + ` FROM ` + table + ` WHERE app_id = ? AND idempotency_key = ?`)
	o.q2.byMsgID = d.rebind(`SELECT ` + o.columns + ` FROM ` + table + ` WHERE app_id = ? AND msg_id = ? ORDER BY id LIMIT 1`)
	o.q2.outcome = d.rebind(`UPDATE ` + table + ` SET status = ?, msg_id = ?, err_code = ?, unknown_count = ? WHERE id = ?`)
	return o
}

// Add implements ports.Outbox: one INSERT, then the row by its key.
func (o *Outbox) Add(ctx context.Context, m domain.Message, now time.Time) (ports.Job[domain.Message], bool, error) {
	ctx, cancel := o.bound(ctx)
	defer cancel()
	if m.Status == "" {
		m.Status = domain.MessageQueued
	}
	req, err := json.Marshal(m.Request())
	if err != nil {
		return ports.Job[domain.Message]{}, false, domain.Wrap(domain.KindInternal, err)
	}
	at := dbTime(now)
	var added bool
	for attempt := 0; attempt < 4; attempt++ {
		if added, err = o.add(ctx, m, string(req), at); err == nil || !transient(err) {
			break
		}
	}
	if err != nil {
		return ports.Job[domain.Message]{}, false, o.fail("add", err)
	}
	j, err := o.ByKey(ctx, m.AppID, m.IdempotencyKey)
	return j, added, err
}

func (o *Outbox) add(ctx context.Context, m domain.Message, req string, at time.Time) (bool, error) {
	res, err := o.db.ExecContext(ctx, o.q2.insert, m.AppID, m.Lane(), ports.JobPending, at, at,
		m.IdempotencyKey, m.OpenID, m.TemplateID, req, m.Status)
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

func (o *Outbox) one(ctx context.Context, op, query string, args ...any) (ports.Job[domain.Message], error) {
	ctx, cancel := o.bound(ctx)
	defer cancel()
	var r outboxRow
	err := o.db.GetContext(ctx, &r, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ports.Job[domain.Message]{}, domain.ErrNotFound
	}
	if err != nil {
		return ports.Job[domain.Message]{}, o.fail(op, err)
	}
	return r.job(), nil
}

// ByKey implements ports.Outbox.
func (o *Outbox) ByKey(ctx context.Context, appID, key string) (ports.Job[domain.Message], error) {
	return o.one(ctx, "by key", o.q2.byKey, appID, key)
}

// ByMsgID implements ports.Outbox.
func (o *Outbox) ByMsgID(ctx context.Context, appID string, msgID int64) (ports.Job[domain.Message], error) {
	if msgID == 0 {
		return ports.Job[domain.Message]{}, domain.ErrNotFound
	}
	return o.one(ctx, "by msgid", o.q2.byMsgID, appID, msgID)
}

// SetOutcome implements ports.Outbox.
func (o *Outbox) SetOutcome(ctx context.Context, id int64, out domain.MessageOutcome) error {
	ctx, cancel := o.bound(ctx)
	defer cancel()
	if _, err := o.db.ExecContext(ctx, o.q2.outcome, out.Status, out.MsgID, out.ErrCode, out.Unknown, id); err != nil {
		return o.fail("outcome", err)
	}
	return nil
}
