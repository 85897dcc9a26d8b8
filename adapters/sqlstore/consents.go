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

// Consents implements ports.Consents on the wx_subscriptions table.
type Consents struct {
	db      *sqlx.DB
	d       dialect
	timeout time.Duration
	q       struct{ ensure, get, lock, update string }
	// credit is the statement of Credit by source (0 the client's, 1
	// WeChat's) and long-term (1) or not (0).
	creditQ [2][2]string
}

var _ ports.Consents = (*Consents)(nil)

type consentRow struct {
	Status    string       `db:"status"`
	LongTerm  bool         `db:"long_term"`
	Remaining int          `db:"remaining"`
	UpdatedAt sql.NullTime `db:"updated_at"`
	Unpaired  int          `db:"unpaired"`
	// UnpairedAt is in Unix microseconds, 0 for never.
	UnpairedAt int64 `db:"unpaired_at"`
}

func newConsents(db *sqlx.DB, d dialect, timeout time.Duration) *Consents {
	c := &Consents{db: db, d: d, timeout: timeout}
	// Update first makes sure the row exists, so that its transaction
	// always has a row to lock: two servers inserting the first row at
	// once would otherwise both read none.
	ensure := `INSERT INTO wx_subscriptions (app_id, open_id, template_id) VALUES (?, ?, ?)`
	if d.name == mysqlDialect.name {
		ensure += ` ON DUPLICATE KEY UPDATE app_id = app_id`
	} else {
		ensure += ` ON CONFLICT (app_id, open_id, template_id) DO NOTHING`
	}
	c.q.ensure = d.rebind(ensure)
	const cols = `SELECT status, long_term, remaining, updated_at, unpaired, unpaired_at FROM wx_subscriptions WHERE app_id = ? AND open_id = ? AND template_id = ?`
	c.q.get = d.rebind(cols)
	lock := cols
	if d.name != sqliteDialect.name {
		lock += ` FOR UPDATE` // SQLite's write transactions are serial already (immediate)
	}
	c.q.lock = d.rebind(lock)
	c.q.update = d.rebind(`UPDATE wx_subscriptions SET status = ?, long_term = ?, remaining = ?, updated_at = ?,
		unpaired = ?, unpaired_at = ? WHERE app_id = ? AND open_id = ? AND template_id = ?`)
	for i, from := range []domain.ConsentSource{domain.FromClient, domain.FromWeChat} {
		c.creditQ[i][0] = d.rebind(creditSQL(d, from, false))
		c.creditQ[i][1] = d.rebind(creditSQL(d, from, true))
	}
	return c
}

// creditSQL is domain.Consent.Credit as one upsert: its parameters are the
// key, the new row's values (status to unpaired_at), then for the update
// the start of the pairing window (Unix microseconds) for status,
// long_term, remaining (a one-time template's only) and updated_at, the
// time, the window's start twice for unpaired, and the time in
// microseconds. Every
// column is read qualified (the row stored) and MariaDB assigns left to
// right, each assignment seeing the ones before: unpaired and unpaired_at,
// which the others read, come last.
func creditSQL(d dialect, from domain.ConsentSource, longTerm bool) string {
	const t = "wx_subscriptions."
	s := fmt.Sprintf("(%d)", from)
	fresh := t + "unpaired_at >= ?"
	paired := "(" + fresh + " AND " + t + "unpaired * " + s + " < 0)"
	remaining := t + "remaining" // a long-term template's is not counted
	if !longTerm {
		remaining = fmt.Sprintf("CASE WHEN %[1]s THEN %[2]sremaining WHEN %[2]sremaining >= %[3]d THEN %[3]d ELSE %[2]sremaining + 1 END",
			paired, t, domain.MaxOneTimeAllowances)
	}
	set := "status = CASE WHEN " + paired + " THEN " + t + "status ELSE '" + domain.SubscribeAccept + "' END, " +
		fmt.Sprintf("long_term = CASE WHEN %s THEN %slong_term ELSE %t END, ", paired, t, longTerm) +
		"remaining = " + remaining + ", " +
		"updated_at = CASE WHEN " + paired + " THEN " + t + "updated_at ELSE ? END, " +
		fmt.Sprintf("unpaired = CASE WHEN %[1]s AND %[2]sunpaired * %[3]s < %[4]d THEN %[2]sunpaired + %[3]s WHEN %[1]s THEN %[2]sunpaired ELSE %[3]s END, ",
			fresh, t, s, domain.MaxOneTimeAllowances) +
		"unpaired_at = ?"
	q := `INSERT INTO wx_subscriptions (app_id, open_id, template_id, status, long_term, remaining, updated_at, unpaired, unpaired_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if d.name == mysqlDialect.name {
		return q + ` ON DUPLICATE KEY UPDATE ` + set
	}
	return q + ` ON CONFLICT (app_id, open_id, template_id) DO UPDATE SET ` + set
}

func (c *Consents) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

func (c *Consents) fail(op string, err error) error {
	return domain.Wrap(classify(err), fmt.Errorf("%s wx_subscriptions %s: %w", c.d.name, op, err))
}

func consentOf(k domain.ConsentKey, r consentRow) domain.Consent {
	out := domain.Consent{ConsentKey: k, Status: r.Status, LongTerm: r.LongTerm, Remaining: r.Remaining, Unpaired: r.Unpaired}
	if r.UpdatedAt.Valid {
		out.UpdatedAt = r.UpdatedAt.Time.UTC()
	}
	out.UnpairedAt = fromMicros(r.UnpairedAt)
	return out
}

// Get implements ports.Consents.
func (c *Consents) Get(ctx context.Context, k domain.ConsentKey) (domain.Consent, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	var r consentRow
	err := c.db.GetContext(ctx, &r, c.q.get, k.AppID, k.OpenID, k.TemplateID)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Consent{ConsentKey: k}, nil
	}
	if err != nil {
		return domain.Consent{}, c.fail("get", err)
	}
	return consentOf(k, r), nil
}

// Update implements ports.Consents: the row is locked for the read, the
// change and the write, in one transaction (retried on a deadlock).
func (c *Consents) Update(ctx context.Context, k domain.ConsentKey, f func(domain.Consent) (domain.Consent, error)) (domain.Consent, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if _, err := c.db.ExecContext(ctx, c.q.ensure, k.AppID, k.OpenID, k.TemplateID); err != nil {
		return domain.Consent{}, c.fail("insert", err)
	}
	var out domain.Consent
	var fnErr, err error
	for attempt := 0; attempt < 4; attempt++ {
		if out, fnErr, err = c.update(ctx, k, f); err == nil || !transient(err) {
			break
		}
	}
	if fnErr != nil {
		return domain.Consent{}, fnErr
	}
	if err != nil {
		return domain.Consent{}, c.fail("update", err)
	}
	return out, nil
}

// update is one attempt: f's error apart from the database's.
func (c *Consents) update(ctx context.Context, k domain.ConsentKey, f func(domain.Consent) (domain.Consent, error)) (domain.Consent, error, error) {
	tx, err := c.db.BeginTxx(ctx, nil)
	if err != nil {
		return domain.Consent{}, nil, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var r consentRow
	if err := tx.GetContext(ctx, &r, c.q.lock, k.AppID, k.OpenID, k.TemplateID); err != nil {
		return domain.Consent{}, nil, err
	}
	next, fnErr := f(consentOf(k, r))
	if fnErr != nil {
		return domain.Consent{}, fnErr, nil
	}
	next.ConsentKey = k
	var at any
	if !next.UpdatedAt.IsZero() {
		at = dbTime(next.UpdatedAt)
	}
	if _, err := tx.ExecContext(ctx, c.q.update, next.Status, next.LongTerm, next.Remaining, at,
		next.Unpaired, micros(next.UnpairedAt), k.AppID, k.OpenID, k.TemplateID); err != nil {
		return domain.Consent{}, nil, err
	}
	if err := tx.Commit(); err != nil {
		return domain.Consent{}, nil, err
	}
	if !next.UpdatedAt.IsZero() {
		next.UpdatedAt = dbTime(next.UpdatedAt)
	}
	if !next.UnpairedAt.IsZero() {
		next.UnpairedAt = dbTime(next.UnpairedAt)
	}
	return next, nil, nil
}

// Credit implements ports.Consents: one upsert (creditSQL), then the row
// read back in the same transaction (retried on a deadlock).
func (c *Consents) Credit(ctx context.Context, k domain.ConsentKey, from domain.ConsentSource, longTerm bool, now time.Time) (domain.Consent, error) {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	now = dbTime(now)
	src, lt := 0, 0
	if from == domain.FromWeChat {
		src = 1
	}
	if longTerm {
		lt = 1
	}
	first := domain.Consent{ConsentKey: k}.Credit(from, longTerm, now) // the row if there is none
	cut := micros(now.Add(-domain.ConsentPairWindow))
	args := []any{k.AppID, k.OpenID, k.TemplateID, first.Status, first.LongTerm, first.Remaining, now, first.Unpaired, micros(now),
		cut, cut} // status, long_term
	if !longTerm {
		args = append(args, cut) // remaining
	}
	args = append(args, cut, now, cut, cut, micros(now)) // updated_at, unpaired, unpaired_at
	var out domain.Consent
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if out, err = c.credit(ctx, c.creditQ[src][lt], args, k); err == nil || !transient(err) {
			break
		}
	}
	if err != nil {
		return domain.Consent{}, c.fail("credit", err)
	}
	return out, nil
}

// credit is one attempt of Credit.
func (c *Consents) credit(ctx context.Context, q string, args []any, k domain.ConsentKey) (domain.Consent, error) {
	tx, err := c.db.BeginTxx(ctx, nil)
	if err != nil {
		return domain.Consent{}, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return domain.Consent{}, err
	}
	var r consentRow
	if err := tx.GetContext(ctx, &r, c.q.get, k.AppID, k.OpenID, k.TemplateID); err != nil {
		return domain.Consent{}, err
	}
	if err := tx.Commit(); err != nil {
		return domain.Consent{}, err
	}
	return consentOf(k, r), nil
}
