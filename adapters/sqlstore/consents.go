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
}

var _ ports.Consents = (*Consents)(nil)

type consentRow struct {
	Status    string       `db:"status"`
	LongTerm  bool         `db:"long_term"`
	Remaining int          `db:"remaining"`
	UpdatedAt sql.NullTime `db:"updated_at"`
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
	const cols = `SELECT status, long_term, remaining, updated_at FROM wx_subscriptions WHERE app_id = ? AND open_id = ? AND template_id = ?`
	c.q.get = d.rebind(cols)
	lock := cols
	if d.name != sqliteDialect.name {
		lock += ` FOR UPDATE` // SQLite's write transactions are serial already (immediate)
	}
	c.q.lock = d.rebind(lock)
	c.q.update = d.rebind(`UPDATE wx_subscriptions SET status = ?, long_term = ?, remaining = ?, updated_at = ?
		WHERE app_id = ? AND open_id = ? AND template_id = ?`)
	return c
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
	out := domain.Consent{ConsentKey: k, Status: r.Status, LongTerm: r.LongTerm, Remaining: r.Remaining}
	if r.UpdatedAt.Valid {
		out.UpdatedAt = r.UpdatedAt.Time.UTC()
	}
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
		k.AppID, k.OpenID, k.TemplateID); err != nil {
		return domain.Consent{}, nil, err
	}
	if err := tx.Commit(); err != nil {
		return domain.Consent{}, nil, err
	}
	if !next.UpdatedAt.IsZero() {
		next.UpdatedAt = dbTime(next.UpdatedAt)
	}
	return next, nil, nil
}
