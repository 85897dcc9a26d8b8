package metrics

import (
	"context"
	"errors"
	"iter"
	"strconv"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Store labels.
const (
	storeSessions   = "sessions"
	storeUsers      = "users"
	storeBlobs      = "blobs"
	storeTokenCache = "token_cache"
)

// call times one store call and counts it by its result; answer says
// which errors are answers rather than failures (nil: none).
func call[T any](m *Metrics, store, op string, answer func(error) bool, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	if answer != nil && answer(err) {
		m.observeStore(store, op, start, nil)
	} else {
		m.observeStore(store, op, start, err)
	}
	return v, err
}

// call0 is call for a call that returns only an error.
func call0(m *Metrics, store, op string, f func() error) error {
	_, err := call(m, store, op, nil, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// notFound and unknownToken are answers, not failures: a user or blob that
// is not there, a token that is not a session.
func notFound(err error) bool     { return domain.KindOf(err) == domain.KindNotFound }
func unknownToken(err error) bool { return domain.KindOf(err) == domain.KindUnauthenticated }

// Sessions returns s measured: every call counted and timed.
func (m *Metrics) Sessions(s ports.SessionStore) ports.SessionStore { return &sessions{m: m, s: s} }

type sessions struct {
	m *Metrics
	s ports.SessionStore
}

var _ ports.SessionStore = (*sessions)(nil)

func (x *sessions) Create(ctx context.Context, id domain.TokenDigest, s domain.Session) error {
	return call0(x.m, storeSessions, "create", func() error { return x.s.Create(ctx, id, s) })
}

func (x *sessions) DeleteAll(ctx context.Context, id domain.Identity) error {
	return call0(x.m, storeSessions, "delete_all", func() error { return x.s.DeleteAll(ctx, id) })
}

func (x *sessions) Count(ctx context.Context) (int, error) {
	return call(x.m, storeSessions, "count", nil, func() (int, error) { return x.s.Count(ctx) })
}

func (x *sessions) Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error) {
	return call(x.m, storeSessions, "get", unknownToken, func() (domain.Session, error) { return x.s.Get(ctx, id) })
}

func (x *sessions) Delete(ctx context.Context, id domain.TokenDigest) error {
	return call0(x.m, storeSessions, "delete", func() error { return x.s.Delete(ctx, id) })
}

func (x *sessions) Ping(ctx context.Context) error {
	return call0(x.m, storeSessions, "ping", func() error { return x.s.Ping(ctx) })
}

// Users returns r measured. When r also updates from a copy (a cache's,
// see sqlstore.UserRepo.UpdateUserFrom), so does the measured repo.
func (m *Metrics) Users(r ports.UserRepo) ports.UserRepo {
	x := &users{m: m, r: r}
	if f, ok := r.(updaterFrom); ok {
		return &usersFrom{users: x, f: f}
	}
	return x
}

// updaterFrom is a repo that updates from a copy of the user.
type updaterFrom interface {
	UpdateUserFrom(ctx context.Context, seen, next domain.User, update func(*domain.User) (bool, error)) (domain.User, error)
}

type usersFrom struct {
	*users
	f updaterFrom
}

func (x *usersFrom) UpdateUserFrom(ctx context.Context, seen, next domain.User, update func(*domain.User) (bool, error)) (domain.User, error) {
	return call(x.m, storeUsers, "update_user_from", notFound, func() (domain.User, error) { return x.f.UpdateUserFrom(ctx, seen, next, update) })
}

type users struct {
	m *Metrics
	r ports.UserRepo
}

var _ ports.UserRepo = (*users)(nil)

func (x *users) EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	return call(x.m, storeUsers, "ensure_user", nil, func() (domain.User, error) { return x.r.EnsureUser(ctx, id, unionID, now) })
}

func (x *users) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	return call(x.m, storeUsers, "get", notFound, func() (domain.User, error) { return x.r.Get(ctx, id) })
}

func (x *users) UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	return call(x.m, storeUsers, "update_user", notFound, func() (domain.User, error) { return x.r.UpdateUser(ctx, id, update) })
}

func (x *users) ByPhone(ctx context.Context, appID, pure string) ([]domain.Identity, error) {
	return call(x.m, storeUsers, "by_phone", nil, func() ([]domain.Identity, error) { return x.r.ByPhone(ctx, appID, pure) })
}

func (x *users) Delete(ctx context.Context, id domain.Identity) error {
	return call0(x.m, storeUsers, "delete", func() error { return x.r.Delete(ctx, id) })
}

func (x *users) ByUnionID(ctx context.Context, unionID string) ([]domain.Identity, error) {
	return call(x.m, storeUsers, "by_unionid", nil, func() ([]domain.Identity, error) { return x.r.ByUnionID(ctx, unionID) })
}

func (x *users) AvatarsInUse(ctx context.Context, names []string) (map[string]bool, error) {
	return call(x.m, storeUsers, "avatars_in_use", nil, func() (map[string]bool, error) { return x.r.AvatarsInUse(ctx, names) })
}

func (x *users) PendingAvatars(ctx context.Context, before time.Time, limit int) ([]domain.Identity, error) {
	return call(x.m, storeUsers, "pending_avatars", nil, func() ([]domain.Identity, error) { return x.r.PendingAvatars(ctx, before, limit) })
}

func (x *users) ByAvatarTrace(ctx context.Context, appID, traceID string) (domain.Identity, error) {
	return call(x.m, storeUsers, "by_avatar_trace", nil, func() (domain.Identity, error) { return x.r.ByAvatarTrace(ctx, appID, traceID) })
}

func (x *users) Ping(ctx context.Context) error {
	return call0(x.m, storeUsers, "ping", func() error { return x.r.Ping(ctx) })
}

// Blobs returns b measured.
func (m *Metrics) Blobs(b ports.BlobStore) ports.BlobStore { return &blobs{m: m, b: b} }

type blobs struct {
	m *Metrics
	b ports.BlobStore
}

var _ ports.BlobStore = (*blobs)(nil)

func (x *blobs) Put(ctx context.Context, name, contentType string, data []byte) error {
	return call0(x.m, storeBlobs, "put", func() error { return x.b.Put(ctx, name, contentType, data) })
}

func (x *blobs) Get(ctx context.Context, name string) (ports.Blob, error) {
	return call(x.m, storeBlobs, "get", notFound, func() (ports.Blob, error) { return x.b.Get(ctx, name) })
}

func (x *blobs) Delete(ctx context.Context, name string) error {
	return call0(x.m, storeBlobs, "delete", func() error { return x.b.Delete(ctx, name) })
}

func (x *blobs) URL(ctx context.Context, name string) (string, error) {
	return x.b.URL(ctx, name) // computed, not a call
}

// List is measured as one call, from the first blob asked for to the
// listing's end (or the caller's stop).
func (x *blobs) List(ctx context.Context) iter.Seq2[ports.BlobInfo, error] {
	return func(yield func(ports.BlobInfo, error) bool) {
		start := time.Now()
		var failed error
		for info, err := range x.b.List(ctx) {
			failed = err
			if !yield(info, err) {
				break
			}
		}
		x.m.observeStore(storeBlobs, "list", start, failed)
	}
}

// TokenCache returns c measured.
func (m *Metrics) TokenCache(c ports.TokenCache) ports.TokenCache { return &tokenCache{m: m, c: c} }

type tokenCache struct {
	m *Metrics
	c ports.TokenCache
}

var _ ports.TokenCache = (*tokenCache)(nil)

// cached is a token and whether there was one.
type cached struct {
	t  domain.CachedToken
	ok bool
}

func (x *tokenCache) Get(ctx context.Context, appID string) (domain.CachedToken, bool, error) {
	r, err := call(x.m, storeTokenCache, "get", nil, func() (cached, error) {
		t, ok, err := x.c.Get(ctx, appID)
		return cached{t, ok}, err
	})
	return r.t, r.ok, err
}

func (x *tokenCache) Put(ctx context.Context, appID string, t domain.CachedToken) error {
	return call0(x.m, storeTokenCache, "put", func() error { return x.c.Put(ctx, appID, t) })
}

func (x *tokenCache) Drop(ctx context.Context, appID string, rejected domain.AccessToken) error {
	return call0(x.m, storeTokenCache, "drop", func() error { return x.c.Drop(ctx, appID, rejected) })
}

// lock is a lock's release and whether it was taken.
type lock struct {
	unlock func()
	ok     bool
}

func (x *tokenCache) Lock(ctx context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	r, err := call(x.m, storeTokenCache, "lock", nil, func() (lock, error) {
		unlock, ok, err := x.c.Lock(ctx, appID, ttl)
		return lock{unlock, ok}, err
	})
	return r.unlock, r.ok, err
}

func (x *tokenCache) CountForceRefresh(ctx context.Context, appID, day string) (int, error) {
	return call(x.m, storeTokenCache, "count_force_refresh", nil, func() (int, error) { return x.c.CountForceRefresh(ctx, appID, day) })
}

// Limiter returns l measured: each refusal counts against name.
func (m *Metrics) Limiter(name string, l ports.RateLimiter) ports.RateLimiter {
	return &limiter{c: m.rejected.WithLabelValues(name), l: l}
}

type limiter struct {
	c interface{ Inc() }
	l ports.RateLimiter
}

func (x *limiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	ok, retry, err := x.l.Allow(ctx, key)
	if err == nil && !ok {
		x.c.Inc()
	}
	return ok, retry, err
}

// WeChat returns w measured: every call by endpoint and errcode, and
// access-token fetches.
func (m *Metrics) WeChat(w ports.WeChat) ports.WeChat { return &weChat{m: m, w: w} }

type weChat struct {
	m *Metrics
	w ports.WeChat
}

var _ ports.WeChat = (*weChat)(nil)

// errcoder is an error that carries the errcode WeChat answered (the
// WeChat adapter's errors do).
type errcoder interface{ WeChatErrcode() int }

// errcodeOf is the errcode label of a call's result: WeChat's errcode, 0
// for success, "timeout" or "transport" when WeChat did not answer.
func errcodeOf(err error) string {
	var e errcoder
	switch {
	case err == nil:
		return "0"
	case errors.As(err, &e):
		return strconv.Itoa(e.WeChatErrcode())
	case domain.KindOf(err) == domain.KindUpstreamTimeout:
		return "timeout"
	default:
		return "transport"
	}
}

func (x *weChat) observe(endpoint string, start time.Time, err error) {
	x.m.wechatCalls.WithLabelValues(x.w.AppID(), endpoint, errcodeOf(err)).Inc()
	x.m.wechatSeconds.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
}

func (x *weChat) AppID() string { return x.w.AppID() }

func (x *weChat) Code2Session(ctx context.Context, code string) (ports.WeChatSession, error) {
	start := time.Now()
	s, err := x.w.Code2Session(ctx, code)
	x.observe("jscode2session", start, err)
	return s, err
}

func (x *weChat) StableToken(ctx context.Context, force bool) (domain.AccessToken, time.Duration, error) {
	start := time.Now()
	t, ttl, err := x.w.StableToken(ctx, force)
	x.observe("stable_token", start, err)
	mode, result := "normal", "ok"
	if force {
		mode = "force"
	}
	if err != nil {
		result = "error"
	}
	x.m.refreshes.WithLabelValues(x.w.AppID(), mode, result).Inc()
	return t, ttl, err
}

func (x *weChat) PhoneNumber(ctx context.Context, token domain.AccessToken, code string) (domain.PhoneInfo, error) {
	start := time.Now()
	p, err := x.w.PhoneNumber(ctx, token, code)
	x.observe("getuserphonenumber", start, err)
	return p, err
}

func (x *weChat) CheckSession(ctx context.Context, token domain.AccessToken, openID string, key domain.SessionKey) (bool, error) {
	start := time.Now()
	ok, err := x.w.CheckSession(ctx, token, openID, key)
	x.observe("checksession", start, err)
	return ok, err
}

func (x *weChat) CheckText(ctx context.Context, token domain.AccessToken, openID, text string) (domain.Verdict, error) {
	start := time.Now()
	v, err := x.w.CheckText(ctx, token, openID, text)
	x.observe("msg_sec_check", start, err)
	return v, err
}

func (x *weChat) MediaCheckAsync(ctx context.Context, token domain.AccessToken, openID, mediaURL string) (string, error) {
	start := time.Now()
	id, err := x.w.MediaCheckAsync(ctx, token, openID, mediaURL)
	x.observe("media_check_async", start, err)
	return id, err
}
