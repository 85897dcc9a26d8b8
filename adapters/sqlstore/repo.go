// Package sqlstore stores users in SQL databases with jmoiron/sqlx: SQLite (the
// embedded default), MySQL/MariaDB and PostgreSQL. The SQL is shared except
// where a dialect differs; migrations are embedded per dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"wxbackend/domain"

	"wxbackend/ports"
)

// UserRepo implements ports.UserRepo on a SQL database.
type UserRepo struct {
	db      *sqlx.DB
	d       dialect
	q       queries
	timeout time.Duration // bounds each call, so a hung database is unavailable, not a hung request
}

var _ ports.UserRepo = (*UserRepo)(nil)

// queries are the statements, bound to the dialect's placeholders once.
type queries struct {
	setUnion, byUnion, byPhone, del string
	// The statements of every request, prepared where the store prepares
	// (getLocked, in a transaction, never is).
	get, getLocked, create, update, updateProfile *stmt
}

const userColumns = `id, app_id, open_id, union_id, nick_name, avatar_url, gender, language, city, province, country,
	user_fields, avatar_object, phone_number, pure_phone_number, country_code, version, created_at, updated_at,
	pending_avatar_object, avatar_review, avatar_trace_id, avatar_review_since`

func newUserRepo(db *sqlx.DB, d dialect, timeout time.Duration, prepare bool) *UserRepo {
	hot := func(q string) *stmt { return newStmt(db, d.rebind(q), prepare) }
	return &UserRepo{db: db, d: d, timeout: timeout, q: queries{
		get:       hot(`SELECT ` + userColumns + ` FROM wx_users WHERE app_id = ? AND open_id = ?`),
		getLocked: newStmt(db, d.rebind(`SELECT `+userColumns+` FROM wx_users WHERE app_id = ? AND open_id = ?`+d.lockRow), false),
		create:    hot(d.createUser),
		setUnion:  d.rebind(`UPDATE wx_users SET union_id = ?, version = version + 1 WHERE app_id = ? AND open_id = ?`),
		update: hot(`UPDATE wx_users SET nick_name = ?, avatar_url = ?, gender = ?, language = ?, city = ?, province = ?, country = ?,
			user_fields = ?, avatar_object = ?, phone_number = ?, pure_phone_number = ?, country_code = ?,
			updated_at = ?, pending_avatar_object = ?, avatar_review = ?, avatar_trace_id = ?, avatar_review_since = ?,
			version = version + 1 WHERE app_id = ? AND open_id = ? AND version = ?`),
		// A change of the profile alone (a /getinfo/, a profile edit)
		// binds 11 values instead of 20.
		updateProfile: hot(`UPDATE wx_users SET nick_name = ?, avatar_url = ?, gender = ?, language = ?, city = ?, province = ?, country = ?,
			updated_at = ?, version = version + 1 WHERE app_id = ? AND open_id = ? AND version = ?`),
		byUnion: d.rebind(`SELECT app_id, open_id FROM wx_users WHERE union_id = ? ORDER BY app_id, open_id LIMIT 100`),
		byPhone: d.rebind(`SELECT app_id, open_id FROM wx_users WHERE app_id = ? AND pure_phone_number = ? ORDER BY open_id LIMIT 100`),
		del:     d.rebind(`DELETE FROM wx_users WHERE app_id = ? AND open_id = ?`),
	}}
}

// row is a wx_users row.
type row struct {
	ID        int64     `db:"id"`
	AppID     string    `db:"app_id"`
	OpenID    string    `db:"open_id"`
	UnionID   string    `db:"union_id"`
	NickName  string    `db:"nick_name"`
	AvatarURL string    `db:"avatar_url"`
	Gender    int       `db:"gender"`
	Language  string    `db:"language"`
	City      string    `db:"city"`
	Province  string    `db:"province"`
	Country   string    `db:"country"`
	Fields    int       `db:"user_fields"`
	Avatar    string    `db:"avatar_object"`
	Phone     string    `db:"phone_number"`
	PurePhone string    `db:"pure_phone_number"`
	CountryCd string    `db:"country_code"`
	Version   int64     `db:"version"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
	// The avatar waiting for WeChat's check (domain.AvatarReview).
	Pending     string `db:"pending_avatar_object"`
	Review      string `db:"avatar_review"`
	TraceID     string `db:"avatar_trace_id"`
	ReviewSince int64  `db:"avatar_review_since"` // Unix microseconds, 0 for none
}

func (r row) user() domain.User {
	return domain.User{
		ID: r.ID, AppID: r.AppID, OpenID: r.OpenID, UnionID: r.UnionID,
		Profile: domain.Profile{
			NickName: r.NickName, AvatarURL: r.AvatarURL, Gender: r.Gender, Language: r.Language,
			City: r.City, Province: r.Province, Country: r.Country,
		},
		UserSet: domain.Fields(r.Fields), Avatar: r.Avatar,
		Phone:     domain.Phone{Number: r.Phone, PureNumber: r.PurePhone, CountryCode: r.CountryCd},
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Revision: r.Version + 1, // 0 is no revision
		Review: domain.AvatarReview{State: domain.AvatarState(r.Review), Pending: r.Pending, TraceID: r.TraceID, Since: fromMicros(r.ReviewSince)},
	}
}

// micros and fromMicros store a time that may be zero as Unix microseconds,
// 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// dbTime is how times are stored: UTC, to the microsecond every database keeps.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// bound limits ctx to the repo's timeout.
func (r *UserRepo) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, r.timeout)
}

// Get implements ports.UserRepo.
func (r *UserRepo) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	return r.get(ctx, id)
}

func (r *UserRepo) get(ctx context.Context, id domain.Identity) (domain.User, error) {
	var rw row
	err := r.q.get.GetContext(ctx, &rw, id.AppID, id.OpenID)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.User{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.User{}, r.fail("get user", err)
	}
	return rw.user(), nil
}

// EnsureUser implements ports.UserRepo, insert first: a new user costs one
// INSERT and is not read back (every column but the id is known: the
// others start at their defaults); a user that exists (the INSERT meets the
// unique key) costs the INSERT and one SELECT, and an UPDATE when WeChat
// sent a unionid other than the stored one. Returning users rarely get
// here: the user cache answers them (adapters/usercache).
func (r *UserRepo) EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	unionID = domain.CleanID(unionID)
	ctx, cancel := r.bound(ctx)
	defer cancel()
	t := dbTime(now)
	var u domain.User
	for attempt := 0; ; attempt++ {
		newID, created, err := r.create(ctx, id, unionID, t)
		if err != nil {
			return domain.User{}, err
		}
		if created {
			rw := row{ID: newID, AppID: id.AppID, OpenID: id.OpenID, UnionID: unionID, CreatedAt: t, UpdatedAt: t}
			return rw.user(), nil
		}
		u, err = r.get(ctx, id)
		if err == nil {
			break
		}
		// Deleted between the INSERT and the SELECT: insert again.
		if domain.KindOf(err) != domain.KindNotFound || attempt == 2 {
			return domain.User{}, err
		}
	}
	if unionID != "" && u.UnionID != unionID {
		if err := r.exec(ctx, "set unionid", r.q.setUnion, unionID, id.AppID, id.OpenID); err != nil {
			return domain.User{}, err
		}
		u.UnionID = unionID
		u.Revision++ // as the UPDATE moved it (a concurrent write moved it further: a copy's write then falls back)
	}
	return u, nil
}

// create inserts id's user, unless it exists: created reports which, and
// newID is the new row's id. A deadlock or a busy lock (concurrent first
// logins of one user on MySQL's unique index) is met by trying again.
func (r *UserRepo) create(ctx context.Context, id domain.Identity, unionID string, t time.Time) (newID int64, created bool, err error) {
	for attempt := 0; attempt < 4; attempt++ {
		if r.d.returning {
			err = r.q.create.QueryRowContext(ctx, id.AppID, id.OpenID, unionID, t, t).Scan(&newID)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, false, nil // the conflict was skipped: the user exists
			}
		} else {
			var res sql.Result
			if res, err = r.q.create.ExecContext(ctx, id.AppID, id.OpenID, unionID, t, t); err == nil {
				newID, err = res.LastInsertId()
			}
			if me := (*mysql.MySQLError)(nil); errors.As(err, &me) && me.Number == 1062 {
				return 0, false, nil // duplicate key: the user exists
			}
		}
		if err == nil {
			return newID, true, nil
		}
		if !transient(err) {
			break
		}
	}
	return 0, false, r.fail("insert user", err)
}

// UpdateUser implements ports.UserRepo optimistically first: the row is
// read, changed by update, and written back by one UPDATE that applies only
// if the row's version is still the one read (compare and set), with no
// lock and no transaction; an update that changes nothing costs one SELECT.
// When other updates of the same user keep getting in between, it falls back
// to reading the row under a lock (SELECT … FOR UPDATE; SQLite's write
// transactions are immediate) in a transaction. Text is sanitized
// (domain.Profile.Sanitized) first, so every database stores the same.
func (r *UserRepo) UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	for attempt := 0; attempt < optimisticAttempts; attempt++ {
		u, done, err := r.updateOnce(ctx, r.db, r.q.get, id, update)
		if err != nil || done {
			return u, err
		}
		// Another update of this user won: read its result and apply again.
	}
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return domain.User{}, r.fail("begin", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	u, done, err := r.updateOnce(ctx, tx, r.q.getLocked, id, update)
	if err != nil {
		return domain.User{}, err
	}
	if !done { // under the lock the version cannot move
		return domain.User{}, domain.Wrap(domain.KindInternal, errors.New("update user: the version moved under a lock"))
	}
	if err := tx.Commit(); err != nil {
		return domain.User{}, r.fail("commit", err)
	}
	return u, nil
}

// optimisticAttempts is how many lost races UpdateUser takes before it
// locks the row.
const optimisticAttempts = 3

// querier is a database or a transaction.
type querier interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// updateOnce reads the user with get, applies update and writes it back if
// the version is still the one read. done is false when another update won.
func (r *UserRepo) updateOnce(ctx context.Context, q querier, get *stmt, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, bool, error) {
	var rw row
	var err error
	if r.onDB(q) {
		err = get.GetContext(ctx, &rw, id.AppID, id.OpenID)
	} else {
		err = q.GetContext(ctx, &rw, get.query, id.AppID, id.OpenID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return domain.User{}, false, domain.ErrNotFound
	}
	if err != nil {
		return domain.User{}, false, r.fail("read user", err)
	}
	return r.apply(ctx, q, rw.user(), update)
}

// apply runs update on was, the user as stored at was.Revision, and writes
// the change if the revision is still was's. done is false when another
// update won.
func (r *UserRepo) apply(ctx context.Context, q querier, was domain.User, update func(*domain.User) (bool, error)) (domain.User, bool, error) {
	u := was
	changed, err := update(&u)
	if err != nil {
		return domain.User{}, false, err
	}
	if !changed {
		return was, true, nil
	}
	return r.write(ctx, q, was, u)
}

// write stores u, a change of was, if the stored revision is still was's:
// it answers the user as stored then, and done is false when another update
// won.
func (r *UserRepo) write(ctx context.Context, q querier, was, u domain.User) (domain.User, bool, error) {
	id := was.Identity()
	version := was.Revision - 1 // the row's version column
	profileOnly := u.UserSet == was.UserSet && u.Avatar == was.Avatar && u.Phone == was.Phone &&
		u.Review.State == was.Review.State && u.Review.Pending == was.Review.Pending &&
		u.Review.TraceID == was.Review.TraceID && micros(u.Review.Since) == micros(was.Review.Since)
	was.Profile, was.UserSet, was.Avatar, was.Phone = u.Profile.Sanitized(), u.UserSet, u.Avatar, u.Phone
	was.Review = u.Review
	was.Review.Since = fromMicros(micros(u.Review.Since))
	was.UpdatedAt = dbTime(u.UpdatedAt)
	was.Revision++
	p := was.Profile
	var res sql.Result
	var err error
	if profileOnly {
		res, err = r.execOn(ctx, q, r.q.updateProfile, p.NickName, p.AvatarURL, p.Gender, p.Language, p.City, p.Province, p.Country,
			was.UpdatedAt, id.AppID, id.OpenID, version)
	} else {
		res, err = r.execOn(ctx, q, r.q.update, p.NickName, p.AvatarURL, p.Gender, p.Language, p.City, p.Province, p.Country,
			int(was.UserSet), was.Avatar, was.Phone.Number, was.Phone.PureNumber, was.Phone.CountryCode,
			was.UpdatedAt, was.Review.Pending, string(was.Review.State), was.Review.TraceID, micros(was.Review.Since),
			id.AppID, id.OpenID, version)
	}
	if err != nil {
		if transient(err) {
			return domain.User{}, false, nil
		}
		return domain.User{}, false, r.fail("update user", err)
	}
	n, err := res.RowsAffected()
	return was, err == nil && n == 1, nil
}

// closeStatements releases the prepared statements.
func (r *UserRepo) closeStatements() {
	for _, s := range []*stmt{r.q.get, r.q.getLocked, r.q.create, r.q.update, r.q.updateProfile} {
		_ = s.Close()
	}
}

// onDB reports whether q is the repo's database, not a transaction.
func (r *UserRepo) onDB(q querier) bool {
	db, ok := q.(*sqlx.DB)
	return ok && db == r.db
}

// execOn runs s on q: prepared on the database, as it is in a transaction.
func (r *UserRepo) execOn(ctx context.Context, q querier, s *stmt, args ...any) (sql.Result, error) {
	if r.onDB(q) {
		return s.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, s.query, args...)
}

// UpdateUserFrom is UpdateUser starting from seen, a copy of the user as
// stored at seen.Revision (a cache's), and next, update's change of seen
// (update already ran on the copy and changed it), without reading the user
// first: next is written by one UPDATE that applies only if the stored
// revision is still seen's; otherwise (or without a revision) it is
// UpdateUser, update running on the stored user. The user cache
// (adapters/usercache) calls it. seen and next come by value: a change
// from a copy allocates no closure nor copy of the user.
func (r *UserRepo) UpdateUserFrom(ctx context.Context, seen, next domain.User, update func(*domain.User) (bool, error)) (domain.User, error) {
	if seen.Revision == 0 {
		return r.UpdateUser(ctx, seen.Identity(), update)
	}
	bctx, cancel := r.bound(ctx)
	u, done, err := r.write(bctx, r.db, seen, next)
	cancel()
	if err != nil || done {
		return u, err
	}
	return r.UpdateUser(ctx, seen.Identity(), update)
}

// ByUnionID implements ports.UserRepo, on the union_id index.
func (r *UserRepo) ByUnionID(ctx context.Context, unionID string) ([]domain.Identity, error) {
	if unionID == "" {
		return nil, nil
	}
	return r.identities(ctx, "users by unionid", r.q.byUnion, unionID)
}

// ByPhone implements ports.UserRepo, on the (app_id, pure_phone_number) index.
func (r *UserRepo) ByPhone(ctx context.Context, appID, pure string) ([]domain.Identity, error) {
	if pure == "" {
		return nil, nil
	}
	return r.identities(ctx, "users by phone", r.q.byPhone, appID, pure)
}

// identities runs a query of (app_id, open_id) rows.
func (r *UserRepo) identities(ctx context.Context, op, query string, args ...any) ([]domain.Identity, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	var rows []struct {
		AppID  string `db:"app_id"`
		OpenID string `db:"open_id"`
	}
	if err := r.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, r.fail(op, err)
	}
	out := make([]domain.Identity, len(rows))
	for i, row := range rows {
		out[i] = domain.Identity{AppID: row.AppID, OpenID: row.OpenID}
	}
	return out, nil
}

// Delete implements ports.UserRepo.
func (r *UserRepo) Delete(ctx context.Context, id domain.Identity) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	return r.exec(ctx, "delete user", r.q.del, id.AppID, id.OpenID)
}

// avatarBatch is how many names one query asks about: far below every
// database's limit on parameters (SQLite's 999 the lowest).
const avatarBatch = 500

// AvatarsInUse implements ports.UserRepo, on an index: one query per
// avatarBatch names.
func (r *UserRepo) AvatarsInUse(ctx context.Context, names []string) (map[string]bool, error) {
	inUse := map[string]bool{}
	for batch := range slices.Chunk(names, avatarBatch) {
		if err := r.avatarsInUse(ctx, batch, inUse); err != nil {
			return nil, err
		}
	}
	return inUse, nil
}

func (r *UserRepo) avatarsInUse(ctx context.Context, names []string, inUse map[string]bool) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	// A pending avatar (waiting for WeChat's check) is in use too.
	query, args, err := sqlx.In(`SELECT avatar_object FROM wx_users WHERE avatar_object IN (?)
		UNION SELECT pending_avatar_object FROM wx_users WHERE pending_avatar_object IN (?)`, names, names)
	if err != nil {
		return r.fail("avatars in use", err)
	}
	var found []string
	if err := r.db.SelectContext(ctx, &found, r.d.rebind(query), args...); err != nil {
		return r.fail("avatars in use", err)
	}
	for _, n := range found {
		inUse[n] = true
	}
	return nil
}

// exec runs a statement that is safe to repeat, again when the database
// reports a deadlock or a busy lock: concurrent first logins of one user may
// meet one on MySQL's unique index.
func (r *UserRepo) exec(ctx context.Context, op, query string, args ...any) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if _, err = r.db.ExecContext(ctx, query, args...); err == nil || !transient(err) {
			break
		}
	}
	if err != nil {
		return r.fail(op, err)
	}
	return nil
}

// Ping implements ports.UserRepo.
func (r *UserRepo) Ping(ctx context.Context) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	if err := r.db.PingContext(ctx); err != nil {
		return r.fail("ping", err)
	}
	return nil
}

// fail wraps a database error: unavailable when the database could not be
// reached or did not answer in time, internal otherwise.
func (r *UserRepo) fail(op string, err error) error {
	return domain.Wrap(classify(err), fmt.Errorf("%s %s: %w", r.d.name, op, err))
}

// ByAvatarTrace implements ports.UserRepo, by the index on (app_id,
// avatar_trace_id).
func (r *UserRepo) ByAvatarTrace(ctx context.Context, appID, traceID string) (domain.Identity, error) {
	if traceID == "" {
		return domain.Identity{}, domain.ErrNotFound
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	var openID string
	err := r.db.GetContext(ctx, &openID, r.d.rebind(`SELECT open_id FROM wx_users WHERE app_id = ? AND avatar_trace_id = ? LIMIT 1`), appID, traceID)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Identity{}, domain.ErrNotFound
	}
	if err != nil {
		return domain.Identity{}, r.fail("user by avatar trace", err)
	}
	return domain.Identity{AppID: appID, OpenID: openID}, nil
}

// PendingAvatars implements ports.UserRepo, by the index on (avatar_review,
// avatar_review_since).
func (r *UserRepo) PendingAvatars(ctx context.Context, before time.Time, limit int) ([]domain.Identity, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	var rows []struct {
		AppID  string `db:"app_id"`
		OpenID string `db:"open_id"`
	}
	err := r.db.SelectContext(ctx, &rows, r.d.rebind(`SELECT app_id, open_id FROM wx_users
		WHERE avatar_review = ? AND avatar_review_since <= ? ORDER BY avatar_review_since LIMIT ?`),
		string(domain.AvatarPending), micros(before), limit)
	if err != nil {
		return nil, r.fail("pending avatars", err)
	}
	out := make([]domain.Identity, len(rows))
	for i, rw := range rows {
		out[i] = domain.Identity{AppID: rw.AppID, OpenID: rw.OpenID}
	}
	return out, nil
}
