package metrics

import (
	"context"
	"errors"
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

// Sessions returns s measured: every call counted and timed.
func (m *Metrics) Sessions(s ports.SessionStore) ports.SessionStore { return &sessions{m: m, s: s} }

type sessions struct {
	m *Metrics
	s ports.SessionStore
}

var _ ports.SessionStore = (*sessions)(nil)

func (x *sessions) Create(ctx context.Context, id domain.TokenDigest, s domain.Session) (domain.ProfileMemo, error) {
	start := time.Now()
	m, err := x.s.Create(ctx, id, s)
	x.m.observeStore(storeSessions, "create", start, err)
	return m, err
}

func (x *sessions) DeleteAll(ctx context.Context, id domain.Identity) error {
	start := time.Now()
	err := x.s.DeleteAll(ctx, id)
	x.m.observeStore(storeSessions, "delete_all", start, err)
	return err
}

func (x *sessions) Count(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := x.s.Count(ctx)
	x.m.observeStore(storeSessions, "count", start, err)
	return n, err
}

func (x *sessions) Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error) {
	start := time.Now()
	s, err := x.s.Get(ctx, id)
	if domain.KindOf(err) == domain.KindUnauthenticated {
		x.m.observeStore(storeSessions, "get", start, nil) // an unknown token is an answer, not a failure
	} else {
		x.m.observeStore(storeSessions, "get", start, err)
	}
	return s, err
}

func (x *sessions) Delete(ctx context.Context, id domain.TokenDigest) error {
	start := time.Now()
	err := x.s.Delete(ctx, id)
	x.m.observeStore(storeSessions, "delete", start, err)
	return err
}

func (x *sessions) RememberProfile(ctx context.Context, id domain.Identity, gen uint64, memo domain.ProfileMemo) error {
	start := time.Now()
	err := x.s.RememberProfile(ctx, id, gen, memo)
	x.m.observeStore(storeSessions, "remember_profile", start, err)
	return err
}

func (x *sessions) ForgetProfile(ctx context.Context, id domain.Identity) error {
	start := time.Now()
	err := x.s.ForgetProfile(ctx, id)
	x.m.observeStore(storeSessions, "forget_profile", start, err)
	return err
}

func (x *sessions) Ping(ctx context.Context) error {
	start := time.Now()
	err := x.s.Ping(ctx)
	x.m.observeStore(storeSessions, "ping", start, err)
	return err
}

// Users returns r measured.
func (m *Metrics) Users(r ports.UserRepo) ports.UserRepo { return &users{m: m, r: r} }

type users struct {
	m *Metrics
	r ports.UserRepo
}

var _ ports.UserRepo = (*users)(nil)

// found is err as a store result: a user that is not there is an answer.
func found(err error) error {
	if domain.KindOf(err) == domain.KindNotFound {
		return nil
	}
	return err
}

func (x *users) EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	start := time.Now()
	u, err := x.r.EnsureUser(ctx, id, unionID, now)
	x.m.observeStore(storeUsers, "ensure_user", start, err)
	return u, err
}

func (x *users) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	start := time.Now()
	u, err := x.r.Get(ctx, id)
	x.m.observeStore(storeUsers, "get", start, found(err))
	return u, err
}

func (x *users) UpdateUser(ctx context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	start := time.Now()
	u, err := x.r.UpdateUser(ctx, id, update)
	x.m.observeStore(storeUsers, "update_user", start, found(err))
	return u, err
}

func (x *users) UpdateUserFrom(ctx context.Context, seen domain.User, update func(*domain.User) (bool, error)) (domain.User, error) {
	start := time.Now()
	u, err := x.r.UpdateUserFrom(ctx, seen, update)
	x.m.observeStore(storeUsers, "update_user_from", start, found(err))
	return u, err
}

func (x *users) ByPhone(ctx context.Context, appID, pure string) ([]domain.Identity, error) {
	start := time.Now()
	ids, err := x.r.ByPhone(ctx, appID, pure)
	x.m.observeStore(storeUsers, "by_phone", start, err)
	return ids, err
}

func (x *users) Delete(ctx context.Context, id domain.Identity) error {
	start := time.Now()
	err := x.r.Delete(ctx, id)
	x.m.observeStore(storeUsers, "delete", start, err)
	return err
}

func (x *users) ByUnionID(ctx context.Context, unionID string) ([]domain.Identity, error) {
	start := time.Now()
	ids, err := x.r.ByUnionID(ctx, unionID)
	x.m.observeStore(storeUsers, "by_unionid", start, err)
	return ids, err
}

func (x *users) AvatarInUse(ctx context.Context, name string) (bool, error) {
	start := time.Now()
	ok, err := x.r.AvatarInUse(ctx, name)
	x.m.observeStore(storeUsers, "avatar_in_use", start, err)
	return ok, err
}

func (x *users) Ping(ctx context.Context) error {
	start := time.Now()
	err := x.r.Ping(ctx)
	x.m.observeStore(storeUsers, "ping", start, err)
	return err
}

// Blobs returns b measured.
func (m *Metrics) Blobs(b ports.BlobStore) ports.BlobStore { return &blobs{m: m, b: b} }

type blobs struct {
	m *Metrics
	b ports.BlobStore
}

var _ ports.BlobStore = (*blobs)(nil)

func (x *blobs) Put(ctx context.Context, name, contentType string, data []byte) error {
	start := time.Now()
	err := x.b.Put(ctx, name, contentType, data)
	x.m.observeStore(storeBlobs, "put", start, err)
	return err
}

func (x *blobs) Get(ctx context.Context, name string) (ports.Blob, error) {
	start := time.Now()
	b, err := x.b.Get(ctx, name)
	x.m.observeStore(storeBlobs, "get", start, found(err))
	return b, err
}

func (x *blobs) Delete(ctx context.Context, name string) error {
	start := time.Now()
	err := x.b.Delete(ctx, name)
	x.m.observeStore(storeBlobs, "delete", start, err)
	return err
}

func (x *blobs) URL(ctx context.Context, name string) (string, error) {
	return x.b.URL(ctx, name) // computed, not a call
}

// TokenCache returns c measured.
func (m *Metrics) TokenCache(c ports.TokenCache) ports.TokenCache { return &tokenCache{m: m, c: c} }

type tokenCache struct {
	m *Metrics
	c ports.TokenCache
}

var _ ports.TokenCache = (*tokenCache)(nil)

func (x *tokenCache) Get(ctx context.Context, appID string) (domain.CachedToken, bool, error) {
	start := time.Now()
	t, ok, err := x.c.Get(ctx, appID)
	x.m.observeStore(storeTokenCache, "get", start, err)
	return t, ok, err
}

func (x *tokenCache) Put(ctx context.Context, appID string, t domain.CachedToken) error {
	start := time.Now()
	err := x.c.Put(ctx, appID, t)
	x.m.observeStore(storeTokenCache, "put", start, err)
	return err
}

func (x *tokenCache) Drop(ctx context.Context, appID string, rejected domain.AccessToken) error {
	start := time.Now()
	err := x.c.Drop(ctx, appID, rejected)
	x.m.observeStore(storeTokenCache, "drop", start, err)
	return err
}

func (x *tokenCache) Lock(ctx context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	start := time.Now()
	unlock, ok, err := x.c.Lock(ctx, appID, ttl)
	x.m.observeStore(storeTokenCache, "lock", start, err)
	return unlock, ok, err
}

func (x *tokenCache) CountForceRefresh(ctx context.Context, appID, day string) (int, error) {
	start := time.Now()
	n, err := x.c.CountForceRefresh(ctx, appID, day)
	x.m.observeStore(storeTokenCache, "count_force_refresh", start, err)
	return n, err
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
