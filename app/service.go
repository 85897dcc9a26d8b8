// Package app holds the use cases of wxbackend (log in, save user info, me, log
// out), written against the ports only.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Options tune the use cases. The tagged fields are settings: the tags are
// read by the configuration loader (config/setting), so a setting is declared
// once, here, without app importing it.
type Options struct {
	// SessionTTL is how long a token lives after login.
	SessionTTL time.Duration `setting:"session-ttl" default:"24h" usage:"lifetime of a login token"`
	// SessionMaxAge, when positive, is the absolute limit of a session's
	// life: sliding expiry never extends it past login + SessionMaxAge.
	SessionMaxAge time.Duration `setting:"session-max-age" default:"720h" usage:"absolute maximum age of a session, however often it is used (0: none)"`
	// WatermarkMaxAge, when positive, is the oldest watermark accepted.
	WatermarkMaxAge time.Duration `setting:"watermark-max-age" default:"0s" usage:"oldest accepted watermark of encrypted data (0: any)"`
	// LoginReplayWindow is how long the result of a login code is kept, so that
	// the client retrying the same code gets the same session instead of
	// WeChat's "code been used". The raw token is held no longer than this.
	// Zero keeps none.
	LoginReplayWindow time.Duration `setting:"login-replay-window" default:"10s" usage:"a login code retried by the same client (address and User-Agent) within this gets the same session; from another client it is code 3"`
	// ForceRefreshPerDay caps forced access-token refreshes per app and day.
	ForceRefreshPerDay int `setting:"wechat-force-refresh-per-day" default:"5" usage:"most forced access_token refreshes (stable_token force_refresh) per app and day; WeChat caps them"`
	// ContentCheck runs WeChat's msg_sec_check on nicknames users type.
	ContentCheck bool `setting:"content-check" default:"false" usage:"check nicknames users type with WeChat's msg_sec_check (risky: code 12)"`
	// ContentCheckOnError is what happens to a nickname when WeChat cannot
	// check it: "reject" (code 8) or "accept".
	ContentCheckOnError string `setting:"content-check-on-error" default:"reject" usage:"when the content check cannot reach WeChat: reject (code 8) or accept"`
	// MaxConcurrentExchanges caps the jscode2session calls in flight; a
	// login that finds no slot within a second is code 7. 0: no cap.
	MaxConcurrentExchanges int `setting:"wechat-max-concurrent-logins" default:"64" usage:"most jscode2session calls in flight per server; more wait up to 1 s, then code 7 (0: no cap)"`
	// SessionLimiter, when set, limits the requests of each session (code 7).
	SessionLimiter ports.RateLimiter
	// AppSessionLimiters, by appid, replace SessionLimiter for an app with
	// limits of its own.
	AppSessionLimiters map[string]ports.RateLimiter
}

// Deps are the ports the use cases need.
type Deps struct {
	Sessions  ports.SessionStore
	Users     ports.UserRepo
	Decrypter ports.Decrypter
	// Apps are the mini-programs served, each with its WeChat: one, or
	// several (a request then names its app).
	Apps   []ports.WeChat
	Clock  ports.Clock
	Tokens ports.TokenSource
	// AccessTokens caches the app's WeChat access token (server API calls:
	// phone numbers, session check, content check). Nil: those calls are
	// internal errors.
	AccessTokens ports.TokenCache
	// Blobs and Images keep the avatars users upload. Nil: avatars cannot
	// be uploaded (SetAvatar is an internal error).
	Blobs  ports.BlobStore
	Images ports.ImageProcessor
	// Log receives what the use cases notice but do not fail on (a forged
	// field, say). Nil discards it.
	Log *slog.Logger
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	Deps
	apps      map[string]ports.WeChat // by appid
	only      ports.WeChat            // the one app, when there is one
	opts      Options
	logins    *loginFlights
	tokens    *accessTokens
	exchanges chan struct{} // slots of concurrent jscode2session calls; nil: no cap
}

// New returns a Service. Every dependency is required.
func New(d Deps, o Options) (*Service, error) {
	if d.Sessions == nil || d.Users == nil || d.Decrypter == nil || len(d.Apps) == 0 || d.Clock == nil || d.Tokens == nil {
		return nil, errors.New("app: every dependency is required")
	}
	apps := make(map[string]ports.WeChat, len(d.Apps))
	for _, wc := range d.Apps {
		if _, dup := apps[wc.AppID()]; dup || wc.AppID() == "" {
			return nil, fmt.Errorf("app: app %q given twice, or without an appid", wc.AppID())
		}
		apps[wc.AppID()] = wc
	}
	if o.SessionTTL <= 0 {
		return nil, errors.New("app: SessionTTL must be positive")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{Deps: d, apps: apps, opts: o, logins: newLoginFlights(o.LoginReplayWindow, d.Clock),
		tokens: &accessTokens{cache: d.AccessTokens, clock: d.Clock, log: d.Log, forcePerDay: o.ForceRefreshPerDay}}
	if len(d.Apps) == 1 {
		s.only = d.Apps[0]
	}
	if o.MaxConcurrentExchanges > 0 {
		s.exchanges = make(chan struct{}, o.MaxConcurrentExchanges)
	}
	return s, nil
}

// LoginResult is what a successful login hands the client.
type LoginResult struct {
	Token     domain.Token
	ExpiresIn time.Duration
	User      domain.User
}

// maxCodeLen bounds a login code; WeChat's are 32 characters.
const maxCodeLen = 128

// exchangeWait is how long a login waits for a free jscode2session slot
// before it is refused as rate limited.
const exchangeWait = time.Second

// exchangeSlot takes one of the MaxConcurrentExchanges slots of
// jscode2session calls, so that a flood of junk codes cannot spend WeChat's
// quota (and this server's connections) for everyone.
func (s *Service) exchangeSlot(ctx context.Context) (func(), error) {
	if s.exchanges == nil {
		return func() {}, nil
	}
	t := time.NewTimer(exchangeWait)
	defer t.Stop()
	select {
	case s.exchanges <- struct{}{}:
		return func() { <-s.exchanges }, nil
	case <-t.C:
		return nil, domain.RateLimited(time.Second)
	case <-ctx.Done():
		return nil, domain.Wrap(domain.KindUpstreamTimeout, ctx.Err())
	}
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

// Login exchanges a wx.login code for a session. The same code sent again by
// the same client while the first exchange runs, or within the replay window
// after, gets the same session: WeChat is asked once. The same code from
// another client is a used code (KindBadCode), as WeChat would say.
func (s *Service) Login(ctx context.Context, appID, code string, client ClientDigest) (LoginResult, error) {
	if code == "" {
		return LoginResult{}, domain.Missing("code")
	}
	if len(code) > maxCodeLen || !printableASCII(code) {
		return LoginResult{}, domain.Malformed("code", "not a wx.login code")
	}
	wc, err := s.app(appID)
	if err != nil {
		return LoginResult{}, err
	}
	res, err := s.logins.do(ctx, wc.AppID()+"|"+code, client, func(ctx context.Context) (LoginResult, error) {
		return s.login(ctx, wc, code)
	})
	if err != nil {
		return LoginResult{}, err
	}
	if res.fresh {
		return res.LoginResult, nil
	}
	// A replayed result: the session may have been logged out since, and then
	// the code is as used as WeChat would say it is.
	sess, err := s.Sessions.Get(ctx, res.Token.Digest())
	if domain.KindOf(err) == domain.KindUnauthenticated {
		return LoginResult{}, domain.Wrap(domain.KindBadCode, errors.New("login code already used by a logged-out session"))
	}
	if err != nil {
		return LoginResult{}, err
	}
	res.ExpiresIn = sess.ExpiresAt.Sub(s.Clock.Now()).Truncate(time.Second)
	return res.LoginResult, nil
}

func (s *Service) login(ctx context.Context, wc ports.WeChat, code string) (LoginResult, error) {
	release, err := s.exchangeSlot(ctx)
	if err != nil {
		return LoginResult{}, err
	}
	ws, err := wc.Code2Session(ctx, code)
	release()
	if err != nil {
		return LoginResult{}, err
	}
	if ws.OpenID == "" || len(ws.OpenID) > domain.MaxIDLen || !printableASCII(ws.OpenID) || len(ws.UnionID) > domain.MaxIDLen || ws.SessionKey.IsZero() {
		return LoginResult{}, domain.Wrap(domain.KindUpstream, errors.New("jscode2session answer lacks openid or session_key"))
	}
	now := s.Clock.Now()
	id := domain.Identity{AppID: wc.AppID(), OpenID: ws.OpenID}
	unionID := domain.CleanID(ws.UnionID)
	tok, err := s.Tokens.NewToken()
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
		ExpiresAt:  now.Add(s.opts.SessionTTL),
	}
	if s.opts.SessionMaxAge > 0 {
		sess.MaxExpiresAt = now.Add(s.opts.SessionMaxAge)
		if sess.ExpiresAt.After(sess.MaxExpiresAt) {
			sess.ExpiresAt = sess.MaxExpiresAt
		}
	}
	if err := s.Sessions.Create(ctx, tok.Digest(), sess); err != nil {
		return LoginResult{}, fmt.Errorf("create session: %w", err)
	}
	// The user is looked up or created; if that fails, the session goes.
	user, err := s.Users.EnsureUser(ctx, id, unionID, now)
	if err != nil {
		if derr := s.Sessions.Delete(ctx, tok.Digest()); derr != nil {
			s.Log.LogAttrs(ctx, slog.LevelWarn, "session of a failed login not deleted", slog.String("error", derr.Error()))
		}
		return LoginResult{}, fmt.Errorf("ensure user: %w", err)
	}
	return LoginResult{Token: tok, ExpiresIn: sess.ExpiresAt.Sub(now), User: s.present(ctx, user)}, nil
}

// EncryptedUserInfo is what a client sends from wx.getUserInfo.
type EncryptedUserInfo struct {
	EncryptedData string
	IV            string
	RawData       string // optional; checked against Signature when both are set
	Signature     string
}

// SaveUserInfo decrypts the user's profile with the session's key, checks it,
// and merges it into the stored profile by domain.User.ApplyWeChat's rules:
// anonymous placeholders and fields the user filled in are kept. Nothing is
// written unless every check passes and something changed. It returns the
// user as stored.
func (s *Service) SaveUserInfo(ctx context.Context, appID, token string, in EncryptedUserInfo) (domain.User, error) {
	if in.EncryptedData == "" {
		return domain.User{}, domain.Missing("encryptedData")
	}
	if in.IV == "" {
		return domain.User{}, domain.Missing("iv")
	}
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	info, err := s.Decrypter.DecryptUserInfo(sess.SessionKey, in.EncryptedData, in.IV)
	if err != nil {
		return domain.User{}, err
	}
	now := s.Clock.Now()
	if err := domain.CheckUserInfo(sess, info, now, s.opts.WatermarkMaxAge); err != nil {
		return domain.User{}, err
	}
	if in.RawData != "" && in.Signature != "" {
		if err := domain.VerifySignature(in.RawData, in.Signature, sess.SessionKey); err != nil {
			return domain.User{}, err
		}
	}
	// AES-CBC has no integrity: a user can alter their own payload, so every
	// decrypted field is theirs to choose. The unionId links accounts across
	// apps, so it is taken only from WeChat's server-to-server answer
	// (jscode2session, kept in the session); a payload that claims another is
	// ignored, and its value is not logged.
	if info.UnionID != "" && info.UnionID != sess.UnionID {
		s.Log.LogAttrs(ctx, slog.LevelWarn, "payload unionId ignored: it differs from WeChat's",
			slog.String("appid", sess.AppID), slog.Bool("session_has_unionid", sess.UnionID != ""))
	}
	// Mini-programs send the same profile at every launch: ApplyWeChat
	// reports no change then, and nothing is written.
	u, err := s.Users.UpdateUser(ctx, sess.Identity(), func(u *domain.User) (bool, error) {
		if !u.ApplyWeChat(info.Profile) {
			return false, nil
		}
		u.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return domain.User{}, userErr(err, "update profile")
	}
	return s.present(ctx, withSessionUnion(u, sess)), nil
}

// withSessionUnion is u with the session's unionid, when it has one: the
// login that learnt it recorded it.
func withSessionUnion(u domain.User, sess domain.Session) domain.User {
	if sess.UnionID != "" {
		u.UnionID = sess.UnionID
	}
	return u
}

// updateUser changes the user of sess by update, as Users.UpdateUser does,
// for every use case but SaveUserInfo.
func (s *Service) updateUser(ctx context.Context, sess domain.Session, op string, update func(*domain.User) (bool, error)) (domain.User, error) {
	u, err := s.Users.UpdateUser(ctx, sess.Identity(), update)
	if err != nil {
		return domain.User{}, userErr(err, op)
	}
	return u, nil
}

// EditProfile sets the fields the user filled in (the nickname input, say)
// and records them as the user's own. It returns the user as stored.
func (s *Service) EditProfile(ctx context.Context, appID, token string, in domain.ProfileInput) (domain.User, error) {
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	edit, err := domain.NewProfileEdit(in)
	if err != nil {
		return domain.User{}, err
	}
	if nick, ok := edit.NickName(); ok {
		if err := s.checkNickName(ctx, sess, nick); err != nil {
			return domain.User{}, err
		}
	}
	now := s.Clock.Now()
	u, err := s.updateUser(ctx, sess, "edit profile", func(u *domain.User) (bool, error) {
		if !u.ApplyUser(edit) {
			return false, nil
		}
		u.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return domain.User{}, err
	}
	return s.present(ctx, u), nil
}

// SetAvatar keeps an image the user chose as their avatar: checked and
// re-encoded by the image processor, stored under its content's name, then
// recorded on the user. The avatar it replaces is deleted once no user has
// it. A blob store that fails leaves the profile as it was (code 9); the
// image is stored before the user points at it, so no user points at a
// missing image.
func (s *Service) SetAvatar(ctx context.Context, appID, token string, image []byte) (domain.User, error) {
	if len(image) == 0 {
		return domain.User{}, domain.Missing("avatar")
	}
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	if s.Blobs == nil || s.Images == nil {
		return domain.User{}, domain.Wrap(domain.KindInternal, errors.New("avatars are not configured"))
	}
	img, ext, err := s.Images.Avatar(image)
	if err != nil {
		return domain.User{}, err
	}
	name := domain.BlobName(img.Data, ext)
	if err := s.Blobs.Put(ctx, name, img.ContentType, img.Data); err != nil {
		return domain.User{}, fmt.Errorf("store avatar: %w", err)
	}
	now := s.Clock.Now()
	var replaced string
	u, err := s.updateUser(ctx, sess, "set avatar", func(u *domain.User) (bool, error) {
		if u.Avatar == name {
			replaced = ""
			return false, nil
		}
		replaced = u.SetAvatar(name)
		u.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return domain.User{}, err
	}
	if replaced != "" {
		s.dropAvatar(ctx, replaced)
	}
	return s.present(ctx, u), nil
}

// dropAvatar deletes an avatar no user has any more. A failure leaves an
// unused object behind, which costs storage but breaks nothing: it is
// logged, and the request still succeeds.
func (s *Service) dropAvatar(ctx context.Context, name string) {
	inUse, err := s.Users.AvatarInUse(ctx, name)
	if err == nil && !inUse {
		err = s.Blobs.Delete(ctx, name)
	}
	if err != nil {
		s.Log.LogAttrs(ctx, slog.LevelWarn, "replaced avatar not deleted", slog.String("object", name), slog.String("error", err.Error()))
	}
}

// Avatar returns a stored avatar image by name, for the server that serves
// them. A name that is not a blob name, or not stored, is KindNotFound.
func (s *Service) Avatar(ctx context.Context, name string) (ports.Blob, error) {
	if !domain.ValidBlobName(name) || s.Blobs == nil {
		return ports.Blob{}, domain.ErrNotFound
	}
	return s.Blobs.Get(ctx, name)
}

// present returns u as a client sees it: the avatar the user uploaded, when
// there is one, in place of WeChat's.
func (s *Service) present(ctx context.Context, u domain.User) domain.User {
	if u.Avatar == "" || s.Blobs == nil {
		return u
	}
	url, err := s.Blobs.URL(ctx, u.Avatar)
	if err != nil {
		s.Log.LogAttrs(ctx, slog.LevelWarn, "avatar URL", slog.String("error", err.Error()))
		return u
	}
	u.Profile.AvatarURL = url
	return u
}

// Me returns the session's user.
func (s *Service) Me(ctx context.Context, appID, token string) (domain.User, error) {
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	user, err := s.Users.Get(ctx, sess.Identity())
	if err != nil {
		return domain.User{}, userErr(err, "get user")
	}
	if user.UnionID != "" {
		// Only server-to-server unionids are stored, so a link is WeChat's
		// word that these accounts are one person's.
		ids, err := s.Users.ByUnionID(ctx, user.UnionID)
		if err != nil {
			return domain.User{}, fmt.Errorf("linked accounts: %w", err)
		}
		for _, id := range ids {
			if id != user.Identity() {
				user.Linked = append(user.Linked, id)
			}
		}
	}
	return s.present(ctx, user), nil
}

// Logout ends the session of token at once.
func (s *Service) Logout(ctx context.Context, appID, token string) error {
	tok, err := domain.ParseToken(token)
	if err != nil {
		return err
	}
	if _, err := s.session(ctx, appID, token); err != nil {
		return err
	}
	if err := s.Sessions.Delete(ctx, tok.Digest()); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// LogoutEverywhere ends every session of the token's user, on every
// device.
func (s *Service) LogoutEverywhere(ctx context.Context, appID, token string) error {
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return err
	}
	if err := s.Sessions.DeleteAll(ctx, sess.Identity()); err != nil {
		return fmt.Errorf("log out everywhere: %w", err)
	}
	return nil
}

// Ready reports whether every store answers.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.Sessions.Ping(ctx); err != nil {
		return fmt.Errorf("session store: %w", err)
	}
	if err := s.Users.Ping(ctx); err != nil {
		return fmt.Errorf("user store: %w", err)
	}
	return nil
}

// app returns the WeChat of the app a request names: appID, or with ""
// the one app served. Several apps and none named, or an app not served,
// is invalid input naming the parameter.
func (s *Service) app(appID string) (ports.WeChat, error) {
	if appID == "" {
		if s.only == nil {
			return nil, domain.Missing("appid")
		}
		return s.only, nil
	}
	wc, ok := s.apps[appID]
	if !ok {
		return nil, domain.Malformed("appid", "not an app this server serves")
	}
	return wc, nil
}

// session returns the live session of a raw token, for the app a request
// names: a token belongs to the app it was issued for, and is no token for
// any other.
func (s *Service) session(ctx context.Context, appID, raw string) (domain.Session, error) {
	wc, err := s.app(appID)
	if err != nil {
		return domain.Session{}, err
	}
	tok, err := domain.ParseToken(raw)
	if err != nil {
		return domain.Session{}, err
	}
	digest := tok.Digest()
	sess, err := s.Sessions.Get(ctx, digest)
	if err != nil {
		return domain.Session{}, err
	}
	if sess.Expired(s.Clock.Now()) {
		return domain.Session{}, domain.ErrUnauthenticated
	}
	if sess.AppID != wc.AppID() {
		return domain.Session{}, domain.Wrap(domain.KindUnauthenticated, errors.New("a token of another app"))
	}
	limiter := s.opts.SessionLimiter
	if l, ok := s.opts.AppSessionLimiters[sess.AppID]; ok {
		limiter = l
	}
	if limiter != nil {
		// Keyed by part of the digest: the limiter's store holds no token.
		ok, retry, err := limiter.Allow(ctx, "s:"+base64.RawURLEncoding.EncodeToString(digest.Sum[:12]))
		if err != nil {
			return domain.Session{}, fmt.Errorf("session rate limit: %w", err)
		}
		if !ok {
			return domain.Session{}, domain.RateLimited(retry)
		}
	}
	return sess, nil
}

// userErr turns a vanished user (deleted from the database behind the
// sessions' back) into an invalid session: logging in again recreates the
// user.
func userErr(err error, op string) error {
	if domain.KindOf(err) == domain.KindNotFound {
		return domain.Wrap(domain.KindUnauthenticated, fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
