package app

// Login exchanges a wx.login code for a session: WeChat's jscode2session
// gives the openid and session_key, the user row is found or created, and a
// fresh token names the new session. A code retried by the same client gets
// the same session (loginflight.go); the exchanges in flight are capped, and
// so are those of each app per period (Deps.Exchanges).

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Login runs logins.
type Login struct {
	apps      apps
	sessions  ports.SessionStore
	users     ports.UserRepo
	tokens    ports.TokenSource
	clock     ports.Clock
	log       *slog.Logger
	show      presenter
	flights   *loginFlights
	exchanges chan struct{}     // slots of concurrent jscode2session calls; nil: no cap
	rate      ports.RateLimiter // jscode2session calls per app; nil: no bound
	ttl       time.Duration
	maxAge    time.Duration
}

func newLogin(d Deps, o Options, apps apps, show presenter) *Login {
	l := &Login{apps: apps, sessions: d.Sessions, users: d.Users, tokens: d.Tokens, clock: d.Clock, log: d.Log,
		show: show, flights: newLoginFlights(o.LoginReplayWindow, d.Clock), ttl: o.SessionTTL, maxAge: o.SessionMaxAge,
		rate: d.Exchanges}
	if o.MaxConcurrentExchanges > 0 {
		l.exchanges = make(chan struct{}, o.MaxConcurrentExchanges)
	}
	return l
}

// LoginResult is what a successful login hands the client.
type LoginResult struct {
	Token     domain.Token
	ExpiresIn time.Duration
	User      domain.User
}

// ClientOf identifies a client for login replays by its address (as the
// transport sees it, after trusted proxies) and its User-Agent.
func ClientOf(address, userAgent string) ClientDigest {
	h := sha256.New()
	h.Write([]byte(address))
	h.Write([]byte{0})
	h.Write([]byte(userAgent))
	var d ClientDigest
	h.Sum(d[:0])
	return d
}

// Handle exchanges code for a session of the app appID names ("" for the one
// app served). The same code sent again by the same client while the first
// exchange runs, or within the replay window after, gets the same session:
// WeChat is asked once. The same code from another client is a used code
// (KindBadCode), as WeChat would say.
func (l *Login) Handle(ctx context.Context, appID, code string, client ClientDigest) (LoginResult, error) {
	if code == "" {
		return LoginResult{}, domain.Missing("code")
	}
	if len(code) > maxCodeLen || !printableASCII(code) {
		return LoginResult{}, domain.Malformed("code", "not a wx.login code")
	}
	wc, err := l.apps.lookup(appID)
	if err != nil {
		return LoginResult{}, err
	}
	res, err := l.flights.do(ctx, wc.AppID()+"|"+code, client, func(ctx context.Context) (LoginResult, error) {
		return l.login(ctx, wc, code)
	})
	if err != nil {
		return LoginResult{}, err
	}
	if res.fresh {
		return res.LoginResult, nil
	}
	// A replayed result: the session may have been logged out since, and then
	// the code is as used as WeChat would say it is.
	sess, err := l.sessions.Get(ctx, res.Token.Digest())
	if domain.KindOf(err) == domain.KindUnauthenticated {
		return LoginResult{}, domain.Wrap(domain.KindBadCode, errors.New("login code already used by a logged-out session"))
	}
	if err != nil {
		return LoginResult{}, err
	}
	res.ExpiresIn = sess.ExpiresAt.Sub(l.clock.Now()).Truncate(time.Second)
	return res.LoginResult, nil
}

// login makes one exchange with WeChat and the session it yields.
func (l *Login) login(ctx context.Context, wc ports.WeChat, code string) (LoginResult, error) {
	if err := l.exchangeRate(ctx, wc.AppID()); err != nil {
		return LoginResult{}, err
	}
	if err := l.exchangeSlot(ctx); err != nil {
		return LoginResult{}, err
	}
	ws, err := wc.Code2Session(ctx, code)
	l.releaseSlot()
	if err != nil {
		return LoginResult{}, err
	}
	if ws.OpenID == "" || len(ws.OpenID) > domain.MaxIDLen || !printableASCII(ws.OpenID) || len(ws.UnionID) > domain.MaxIDLen || ws.SessionKey.IsZero() {
		return LoginResult{}, domain.Wrap(domain.KindUpstream, errors.New("jscode2session answer lacks openid or session_key"))
	}
	now := l.clock.Now()
	id := domain.Identity{AppID: wc.AppID(), OpenID: ws.OpenID}
	unionID := domain.CleanID(ws.UnionID)
	tok, err := l.tokens.NewToken()
	if err != nil {
		return LoginResult{}, domain.Wrap(domain.KindInternal, fmt.Errorf("new token: %w", err))
	}
	tok = tok.WithTag(domain.UserTag(id)) // where the store keeps the user's sessions
	// The session's unionid is this answer's, or (when WeChat sent none)
	// the one the store knows from an earlier login.
	sess := domain.Session{
		AppID:      id.AppID,
		OpenID:     id.OpenID,
		UnionID:    unionID,
		SessionKey: ws.SessionKey,
		ExpiresAt:  now.Add(l.ttl),
		IssuedAt:   now,
	}
	if l.maxAge > 0 {
		sess.MaxExpiresAt = now.Add(l.maxAge)
		if sess.ExpiresAt.After(sess.MaxExpiresAt) {
			sess.ExpiresAt = sess.MaxExpiresAt
		}
	}
	if err := l.sessions.Create(ctx, tok.Digest(), sess); err != nil {
		return LoginResult{}, fmt.Errorf("create session: %w", err)
	}
	// The user is looked up or created; if that fails, the session goes.
	user, err := l.users.EnsureUser(ctx, id, unionID, now)
	if err != nil {
		if derr := l.sessions.Delete(ctx, tok.Digest()); derr != nil {
			l.log.LogAttrs(ctx, slog.LevelWarn, "session of a failed login not deleted", slog.String("error", derr.Error()))
		}
		return LoginResult{}, fmt.Errorf("ensure user: %w", err)
	}
	return LoginResult{Token: tok, ExpiresIn: sess.ExpiresAt.Sub(now), User: l.show.present(ctx, user)}, nil
}

// exchangeRate spends one of the app's jscode2session calls of the period,
// or is rate limited when they are spent.
func (l *Login) exchangeRate(ctx context.Context, appID string) error {
	if l.rate == nil {
		return nil
	}
	ok, retry, err := l.rate.Allow(ctx, "jscode2session:"+appID)
	if err != nil {
		return fmt.Errorf("jscode2session rate: %w", err)
	}
	if !ok {
		return domain.RateLimited(retry)
	}
	return nil
}

// exchangeWait is how long a login waits for a free jscode2session slot
// before it is refused as rate limited.
const exchangeWait = time.Second

// exchangeSlot takes one of the MaxConcurrentExchanges slots of
// jscode2session calls, so that a flood of junk codes cannot spend WeChat's
// quota (and this server's connections) for everyone. A free slot is taken
// at once, with no timer; only a login that finds none waits, up to
// exchangeWait.
func (l *Login) exchangeSlot(ctx context.Context) error {
	if l.exchanges == nil {
		return nil
	}
	select {
	case l.exchanges <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(exchangeWait)
	defer t.Stop()
	select {
	case l.exchanges <- struct{}{}:
		return nil
	case <-t.C:
		return domain.RateLimited(time.Second)
	case <-ctx.Done():
		return domain.Wrap(domain.KindUpstreamTimeout, ctx.Err())
	}
}

// releaseSlot gives back the slot exchangeSlot took.
func (l *Login) releaseSlot() {
	if l.exchanges != nil {
		<-l.exchanges
	}
}
