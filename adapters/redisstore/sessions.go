// Package redisstore keeps sessions in Redis with redis/go-redis, so any number of
// servers share them. One client type covers a single node, Sentinel and
// Cluster, chosen by the options.
//
// Key layout. A token carries its user's tag (domain.UserTag, a digest of the
// identity), and every key of a user is in the tag's Cluster slot, so a
// request's session (token and user) is read by one script in one round
// trip, and a login writes it with one:
//
//	<prefix>t:{<tag>}:<digest>  string: the user and the expiry (codec.go); TTL = the token's
//	<prefix>u:{<tag>}          hash: k = newest session key, u = unionid, n = token sequence; TTL = the user's last token's
//	<prefix>u:{<tag>}:t        sorted set: the user's token keys by creation (cap, log out everywhere)
//	<prefix>c:{<tag>}          string: the user cache's copy of the user (usercache.go, codec.go)
//
// <digest> is the unpadded base64url SHA-256 of the token, so a dump of Redis
// yields no usable token. A token without a tag is no session here.
package redisstore

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options configure the store; each tagged field is a setting (see
// config/setting).
type Options struct {
	Addrs      []string       `setting:"redis-addrs" default:"127.0.0.1:6379" usage:"Redis address(es), comma-separated: one node, Cluster seeds, or Sentinels"`
	MasterName string         `setting:"redis-master-name" usage:"Sentinel master name (turns on Sentinel mode)"`
	Username   string         `setting:"redis-username" usage:"Redis ACL user"`
	Password   setting.Secret `setting:"redis-password" usage:"Redis password; never printed"`
	DB         int            `setting:"redis-db" default:"0" usage:"Redis database number (a node or Sentinel; a Cluster has only 0)"`
	TLS        bool           `setting:"redis-tls" default:"false" usage:"connect to Redis over TLS"`
	PoolSize   int            `setting:"redis-pool-size" default:"0" usage:"connections per Redis node (0: 10 per CPU)"`
	Timeout    time.Duration  `setting:"redis-timeout" default:"1s" usage:"longest a Redis call (and each dial, read and write) may take before code 9"`
	KeyPrefix  string         `setting:"redis-key-prefix" default:"wxb:" usage:"prefix of every key, so apps can share a Redis"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) {
	p.NotNegative(&o.DB)
	p.NotNegative(&o.PoolSize)
	p.Positive(&o.Timeout)
	if o.DB != 0 && len(o.Addrs) > 1 && o.MasterName == "" {
		p.Add(&o.DB, "a Redis Cluster has only database 0")
	}
}

// SessionStore implements ports.SessionStore on Redis.
type SessionStore struct {
	rdb        goredis.UniversalClient
	prefix     string
	timeout    time.Duration
	sliding    time.Duration
	maxPerUser int
	clock      ports.Clock
	poolSize   int
}

var _ ports.SessionStore = (*SessionStore)(nil)

// NewSessionStore returns a store; it connects on first use, so a server may
// start before Redis does. A positive sliding makes every Get extend the
// session to now+sliding, now by clock.
func NewSessionStore(o Options, sliding time.Duration, maxPerUser int, clock ports.Clock) (*SessionStore, error) {
	if len(o.Addrs) == 0 {
		return nil, errors.New("redis: no address")
	}
	if o.Timeout <= 0 {
		return nil, errors.New("redis: timeout must be positive")
	}
	uo := &goredis.UniversalOptions{
		Addrs:        o.Addrs,
		MasterName:   o.MasterName,
		Username:     o.Username,
		Password:     o.Password.Reveal(),
		DB:           o.DB,
		PoolSize:     o.PoolSize,
		DialTimeout:  o.Timeout,
		ReadTimeout:  o.Timeout,
		WriteTimeout: o.Timeout,
		PoolTimeout:  o.Timeout,
		MaxRetries:   1,
	}
	if o.TLS {
		uo.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	poolSize := o.PoolSize
	if poolSize == 0 {
		poolSize = 10 * runtime.GOMAXPROCS(0) // go-redis's default
	}
	return &SessionStore{rdb: goredis.NewUniversalClient(uo), prefix: o.KeyPrefix, timeout: o.Timeout, sliding: sliding,
		maxPerUser: maxPerUser, clock: clock, poolSize: poolSize}, nil
}

// Close closes the connections.
func (s *SessionStore) Close() error { return s.rdb.Close() }

// tokenKey is where a token's record lives: in its tag's slot.
func (s *SessionStore) tokenKey(id domain.TokenDigest) string {
	return s.prefix + "t:{" + id.Tag + "}:" + base64.RawURLEncoding.EncodeToString(id.Sum[:])
}

// userKey is the hash of a user's session data (+":t": its token set).
func (s *SessionStore) userKey(id domain.Identity) string {
	return s.taggedUserKey(domain.UserTag(id))
}

// taggedUserKey is the user hash of the user of tag.
func (s *SessionStore) taggedUserKey(tag string) string { return s.prefix + "u:{" + tag + "}" }

func (s *SessionStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// sessionCreate writes a login's session in one step, atomically (the
// user's keys in one Cluster slot): the token's record T, the newest
// session_key and unionid in the user's hash H, the token in the user's
// token set S (scored by a per-user sequence, so logins within one
// millisecond keep their order), both kept at least as long as the token;
// beyond the cap, the oldest tokens are taken out of the set and deleted.
// With a fourth key, the user cache's copy of the user, it answers that
// copy too (false: none), so a login's user lookup needs no round trip of
// its own.
//
//	KEYS: token key, user hash, user token set[, the user's copy]
//	ARGV: ttl ms, the token's record, cap (0: none), then field, value pairs
var sessionCreate = goredis.NewScript(`local T, H, S = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[1])
redis.call("SET", T, ARGV[2], "PX", ttl)
redis.call("HSET", H, unpack(ARGV, 4))
local seq = redis.call("HINCRBY", H, "n", 1)
redis.call("ZADD", S, seq, T)
for _, k in ipairs({H, S}) do
  local left = redis.call("PTTL", k)
  if left < ttl then redis.call("PEXPIRE", k, ttl) end
end
local cap = tonumber(ARGV[3])
if cap > 0 then
  local extra = redis.call("ZCARD", S) - cap
  if extra > 0 then
    local old = redis.call("ZRANGE", S, 0, extra - 1)
    redis.call("ZREMRANGEBYRANK", S, 0, extra - 1)
    redis.call("DEL", unpack(old))
  end
end
local c = false
if #KEYS >= 4 then c = redis.call("GET", KEYS[4]) end
return {1, c}`)

// errUntagged is a token without its user's tag: no login issues one.
var errUntagged = errors.New("redis: a token without its user's tag")

// Create implements ports.SessionStore: one script in the user's slot.
func (s *SessionStore) Create(ctx context.Context, id domain.TokenDigest, sess domain.Session) error {
	_, err := s.create(ctx, id, sess, false)
	return err
}

// CreateWithCopy is Create that also returns the user cache's copy of the
// session's user (UserCache), read in the same round trip: the
// usercache.SessionCreator of adapters/usercache. ok is false when there is
// none.
func (s *SessionStore) CreateWithCopy(ctx context.Context, id domain.TokenDigest, sess domain.Session) (domain.User, bool, error) {
	raw, err := s.create(ctx, id, sess, true)
	if err != nil || raw == nil {
		return domain.User{}, false, err
	}
	u, ok := decodeUser(raw, sess.Identity())
	return u, ok, nil
}

// create runs sessionCreate for sess, reading the user's cached copy too
// when withCopy (nil when there is none).
func (s *SessionStore) create(ctx context.Context, id domain.TokenDigest, sess domain.Session, withCopy bool) ([]byte, error) {
	now := s.clock.Now()
	ttl := sess.ExpiresAt.Sub(now)
	if ttl <= 0 {
		return nil, nil
	}
	if id.Tag != domain.UserTag(sess.Identity()) {
		return nil, domain.Wrap(domain.KindInternal, errors.New("redis: a token untagged or tagged for another user"))
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	uk := s.taggedUserKey(id.Tag)
	token := tokenRecord{appID: sess.AppID, openID: sess.OpenID, expiresAt: sess.ExpiresAt, limit: sess.MaxExpiresAt, issued: sess.IssuedAt}
	args := []any{ttl.Milliseconds(), token.encode(), s.maxPerUser, fieldKey, sess.SessionKey.Base64()}
	if sess.UnionID != "" {
		args = append(args, fieldUnion, sess.UnionID)
	}
	keys := []string{s.tokenKey(id), uk, uk + ":t"}
	if withCopy {
		keys = append(keys, s.copyKey(id.Tag))
	}
	vals, err := sessionCreate.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fail("create session", err)
	}
	if len(vals) != 2 {
		return nil, domain.Wrap(domain.KindInternal, errCorrupt)
	}
	if c, ok := vals[1].(string); ok {
		return []byte(c), nil
	}
	return nil, nil
}

// Count implements ports.SessionStore by scanning the token keys (on every
// master of a Cluster): for operators, not for requests.
func (s *SessionStore) Count(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*s.timeout)
	defer cancel()
	var total atomic.Int64
	scan := func(ctx context.Context, c goredis.UniversalClient) error {
		iter := c.Scan(ctx, 0, s.prefix+"t:*", 1000).Iterator()
		for iter.Next(ctx) {
			total.Add(1)
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.rdb.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.rdb)
	}
	if err != nil {
		return 0, fail("count sessions", err)
	}
	return int(total.Load()), nil
}

// DeleteAll implements ports.SessionStore: every token in the user's set,
// then the user's keys, in one script, so that no login in between leaves a
// token outside the set (the user's keys share one Cluster slot).
func (s *SessionStore) DeleteAll(ctx context.Context, id domain.Identity) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	uk := s.userKey(id)
	if err := sessionDeleteAll.Run(ctx, s.rdb, []string{uk, uk + ":t"}).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		return fail("log out everywhere", err)
	}
	return nil
}

// sessionDeleteAll deletes every token of a user's set, and the user's hash
// and set, atomically.
//
//	KEYS: user hash, user token set
var sessionDeleteAll = goredis.NewScript(`
local toks = redis.call("ZRANGE", KEYS[2], 0, -1)
for i = 1, #toks, 1000 do
  redis.call("DEL", unpack(toks, i, math.min(i + 999, #toks)))
end
redis.call("DEL", KEYS[1], KEYS[2])
return #toks
`)

// Fields of a user's hash.
const (
	fieldKey   = "k"
	fieldUnion = "u"
)

// sessionRead reads a tagged token's session in one step: the token's
// record and its user's fields, and with sliding expiry extends the token
// and the user's keys (never shortening, never past the record's limit).
//
//	KEYS: token key, user hash, user token set; ARGV: now ms, sliding ms (0: none)
var sessionRead = goredis.NewScript(`
local rec = redis.call("GET", KEYS[1])
if not rec then return false end
local u = redis.call("HMGET", KEYS[2], "k", "u")
local slide = tonumber(ARGV[2])
if slide > 0 and u[1] then
  local now = tonumber(ARGV[1])
  local target = now + slide
  if rec:byte(1) >= 2 and #rec >= 17 then -- codec versions 2 and 3: the limit at bytes 10..17
    local limit = 0
    for j = 10, 17 do limit = limit * 256 + rec:byte(j) end
    if limit > 0 and limit < target then target = limit end
  end
  local ms = target - now
  if ms > 0 then
    for i = 1, 3 do
      local left = redis.call("PTTL", KEYS[i])
      if left >= 0 and left < ms then redis.call("PEXPIRE", KEYS[i], ms) end
    end
  end
end
local c = false
if #KEYS >= 4 then c = redis.call("GET", KEYS[4]) end
return {rec, u[1], u[2], c}`)

// Get implements ports.SessionStore: one round trip.
func (s *SessionStore) Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error) {
	sess, _, err := s.read(ctx, id, false)
	return sess, err
}

// GetWithCopy is Get that also returns the user cache's copy of the
// session's user (UserCache), read in the same round trip: the
// usercache.SessionReader of adapters/usercache.
func (s *SessionStore) GetWithCopy(ctx context.Context, id domain.TokenDigest) (domain.Session, domain.User, bool, error) {
	sess, raw, err := s.read(ctx, id, true)
	if err != nil || raw == nil {
		return sess, domain.User{}, false, err
	}
	u, ok := decodeUser(raw, sess.Identity())
	return sess, u, ok, nil
}

// read runs sessionRead for id, with the user's cached copy when withCopy
// (nil when there is none).
func (s *SessionStore) read(ctx context.Context, id domain.TokenDigest, withCopy bool) (domain.Session, []byte, error) {
	if id.Tag == "" {
		return domain.Session{}, nil, domain.Wrap(domain.KindUnauthenticated, errUntagged)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	now := s.clock.Now()
	var sliding int64
	if s.sliding > 0 {
		sliding = s.sliding.Milliseconds()
	}
	uk := s.taggedUserKey(id.Tag)
	keys := []string{s.tokenKey(id), uk, uk + ":t"}
	if withCopy {
		keys = append(keys, s.copyKey(id.Tag))
	}
	vals, err := sessionRead.Run(ctx, s.rdb, keys, now.UnixMilli(), sliding).Slice()
	if errors.Is(err, goredis.Nil) {
		return domain.Session{}, nil, domain.ErrUnauthenticated
	}
	if err != nil {
		return domain.Session{}, nil, fail("read session", err)
	}
	if len(vals) != 4 {
		return domain.Session{}, nil, domain.Wrap(domain.KindInternal, errCorrupt)
	}
	raw, _ := vals[0].(string)
	tok, err := decodeToken([]byte(raw))
	if err != nil {
		return domain.Session{}, nil, domain.Wrap(domain.KindInternal, err)
	}
	sess, err := s.session(tok, now, vals[1:3])
	if err != nil {
		return domain.Session{}, nil, err
	}
	var copied []byte
	if c, ok := vals[3].(string); ok {
		copied = []byte(c)
	}
	return sess, copied, nil
}

// slid is how far sliding expiry extends tok's session at now: now+sliding,
// capped at its limit.
func (s *SessionStore) slid(tok tokenRecord, now time.Time) time.Time {
	slid := now.Add(s.sliding)
	if !tok.limit.IsZero() && slid.After(tok.limit) {
		slid = tok.limit
	}
	return slid
}

// session assembles a session from tok and its user's hash fields: key and
// unionid (nil when absent).
func (s *SessionStore) session(tok tokenRecord, now time.Time, user []any) (domain.Session, error) {
	keyText, _ := user[0].(string)
	unionID, _ := user[1].(string)
	if keyText == "" { // the user's hash expired with its last token
		return domain.Session{}, domain.ErrUnauthenticated
	}
	key, err := domain.ParseSessionKey(keyText)
	if err != nil {
		return domain.Session{}, domain.Wrap(domain.KindInternal, errCorrupt)
	}
	expires := tok.expiresAt
	if slid := s.slid(tok, now); s.sliding > 0 && slid.After(expires) {
		expires = slid.UTC()
	}
	return domain.Session{AppID: tok.appID, OpenID: tok.openID, UnionID: unionID, SessionKey: key, ExpiresAt: expires,
		MaxExpiresAt: tok.limit, IssuedAt: tok.issued}, nil
}

// tokenDelete deletes a tagged token and takes it out of its user's set,
// deleting the user's keys with the last one (all in the user's slot).
//
//	KEYS: token key, user hash, user token set
var tokenDelete = goredis.NewScript(`
if redis.call("DEL", KEYS[1]) == 0 then return 0 end
redis.call("ZREM", KEYS[3], KEYS[1])
if redis.call("ZCARD", KEYS[3]) == 0 then redis.call("DEL", KEYS[2], KEYS[3]) end
return 1`)

// Delete implements ports.SessionStore: the token, its entry in the user's
// set, and the user's keys with the user's last token, in one script.
func (s *SessionStore) Delete(ctx context.Context, id domain.TokenDigest) error {
	if id.Tag == "" {
		return nil // no such token is stored
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	uk := s.taggedUserKey(id.Tag)
	if err := tokenDelete.Run(ctx, s.rdb, []string{s.tokenKey(id), uk, uk + ":t"}).Err(); err != nil {
		return fail("delete token", err)
	}
	return nil
}

// Ping implements ports.SessionStore.
func (s *SessionStore) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fail("ping", err)
	}
	return nil
}

// fail wraps a Redis error: a server reply that is an error of ours is
// internal; anything else (no connection, timeout, a failover, a loading or
// read-only server, out of memory) means Redis is unavailable.
func fail(op string, err error) error {
	kind := domain.KindUnavailable
	var reply goredis.Error
	var netErr net.Error
	if errors.As(err, &reply) && !errors.As(err, &netErr) {
		msg := reply.Error()
		kind = domain.KindInternal
		for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "OOM", "MOVED", "ASK", "NOREPLICAS"} {
			if strings.HasPrefix(msg, p) {
				kind = domain.KindUnavailable
			}
		}
	}
	return domain.Wrap(kind, fmt.Errorf("redis %s: %w", op, err))
}

// PoolStats returns the connection pool's counters (summed over a
// Cluster's nodes), for metrics.
func (s *SessionStore) PoolStats() *goredis.PoolStats { return s.rdb.PoolStats() }

// PoolSize is the most connections the pool opens per node.
func (s *SessionStore) PoolSize() int { return s.poolSize }
