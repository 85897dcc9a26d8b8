package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

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
	// OpenAPIPerMinute is the limit of a WeChat API path called for the
	// other services (OpenAPI) when WeChat documents none.
	OpenAPIPerMinute int `setting:"openapi-per-minute" default:"1000" usage:"most calls per minute, app and API path passed on to WeChat for your services when WeChat documents no limit of its own (0: none)"`
	// Push tunes WeChat's message push: its receiver and delivery worker.
	Push PushOptions
	// MediaCheck is the rule of WeChat's avatar check (mediacheck.go).
	MediaCheck MediaCheckOptions
	// Messages is the subscribe messages' outbox worker's policy (messages.go).
	Messages MessageOptions
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
	// Exchanges, when not nil, bounds the jscode2session calls of each app
	// (keyed by "jscode2session:" and the appid): a login over it is rate
	// limited before WeChat is asked, so that junk codes sent from many
	// addresses cannot spend the app's quota for everyone.
	Exchanges ports.RateLimiter
	// Log receives what the use cases notice but do not fail on (a forged
	// field, say). Nil discards it.
	Log *slog.Logger
	// OpenAPIPaths are the allow-lists of WeChat API paths of the apps
	// that have their own (appid → paths); the others have
	// domain.DefaultOpenAPIPaths. OpenAPILimiter makes the limiter of a
	// limit per minute (one per limit; keys are by app and path); nil: no
	// limits.
	OpenAPIPaths   map[string][]string
	OpenAPILimiter func(perMinute int) ports.RateLimiter
	// Inbox keeps the events WeChat pushes for PushApps, which Webhook
	// delivers, observed by PushObserver (nil: none). Nil Inbox or no
	// PushApps: no push receiver (ReceivePush and DeliverPush are nil).
	Inbox        ports.Inbox
	PushApps     []PushApp
	Webhook      ports.Webhook
	PushObserver ports.PushObserver
	// Consents is the ledger of users' consent to subscribe messages; nil:
	// none (Subscriptions is nil). LongTermTemplates are each app's
	// long-term templates (appid → template IDs); the others are one-time.
	Consents          ports.Consents
	LongTermTemplates map[string][]string
	// Outbox keeps the subscribe messages to send (with Consents; nil:
	// Messages is nil), observed by MessageObserver (nil: none).
	Outbox          ports.Outbox
	MessageObserver MessageObserver
	// MediaCheckApps are the apps whose uploaded avatars WeChat checks
	// before they are published (wxa/media_check_async; the verdict comes
	// by push, so each needs the push receiver and a public avatar URL).
	MediaCheckApps []string
}

// App is every use case, each safe for concurrent use. The HTTP adapter
// calls Authenticate once per request and hands the session it returns to
// the use case of the route.
type App struct {
	Authenticate     *Authenticate
	Login            *Login
	SaveUserInfo     *SaveUserInfo
	Me               *Me
	EditProfile      *EditProfile
	SetAvatar        *SetAvatar
	Avatar           *Avatar
	SetPhone         *SetPhone
	RemovePhone      *RemovePhone
	CheckSession     *CheckSession
	Logout           *Logout
	LogoutEverywhere *LogoutEverywhere
	Ready            *Ready
	Operator         *Operator
	CollectAvatars   *CollectAvatars
	ReceivePush      *ReceivePush
	DeliverPush      *DeliverPush
	PushEvents       *PushEvents
	Introspect       *Introspect
	OpenAPI          *OpenAPI
	Subscriptions    *Subscriptions
	Messages         *Messages
	// SweepAvatarChecks is nil when no app has avatars checked.
	SweepAvatarChecks *SweepAvatarChecks

	apps apps
}

// New builds every use case. Every dependency but AccessTokens, Blobs,
// Images, Exchanges, Log and the OpenAPI ones is required; an allow-list
// naming an API that answers a credential is an error.
func New(d Deps, o Options) (*App, error) {
	if d.Sessions == nil || d.Users == nil || d.Decrypter == nil || len(d.Apps) == 0 || d.Clock == nil || d.Tokens == nil {
		return nil, errors.New("app: every dependency is required")
	}
	apps, err := newApps(d.Apps)
	if err != nil {
		return nil, err
	}
	if o.SessionTTL <= 0 {
		return nil, errors.New("app: SessionTTL must be positive")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	show := presenter{blobs: d.Blobs, log: d.Log}
	writer := userWriter{users: d.Users}
	wx := weChatAPI{apps: apps, tokens: &accessTokens{cache: d.AccessTokens, clock: d.Clock, log: d.Log, forcePerDay: o.ForceRefreshPerDay}}
	avatars := avatarBin{users: d.Users, blobs: d.Blobs, log: d.Log}
	a := &App{
		apps:         apps,
		Authenticate: &Authenticate{apps: apps, sessions: d.Sessions, clock: d.Clock},
		Login:        newLogin(d, o, apps, show),
		SaveUserInfo: &SaveUserInfo{decrypter: d.Decrypter, users: d.Users,
			clock: d.Clock, log: d.Log, show: show, watermarkMaxAge: o.WatermarkMaxAge},
		Me: &Me{users: d.Users, writer: writer, show: show},
		EditProfile: &EditProfile{writer: writer, wechat: wx, clock: d.Clock, log: d.Log, show: show,
			contentCheck: o.ContentCheck, acceptUnchecked: o.ContentCheckOnError == "accept"},
		SetAvatar: &SetAvatar{images: d.Images, avatars: avatars, writer: writer, names: d.Tokens, clock: d.Clock, show: show,
			checks: mediaChecks{apps: map[string]bool{}, wechat: wx, blobs: d.Blobs}},
		Avatar: &Avatar{blobs: d.Blobs},
		SetPhone: &SetPhone{decrypter: d.Decrypter, wechat: wx, phones: phoneWriter{writer: writer, clock: d.Clock, show: show},
			watermarkMaxAge: o.WatermarkMaxAge},
		RemovePhone:      &RemovePhone{phones: phoneWriter{writer: writer, clock: d.Clock, show: show}},
		CheckSession:     &CheckSession{wechat: wx, clock: d.Clock},
		Logout:           &Logout{sessions: d.Sessions},
		LogoutEverywhere: &LogoutEverywhere{sessions: d.Sessions},
		Ready:            &Ready{sessions: d.Sessions, users: d.Users},
		Operator:         &Operator{apps: apps, users: d.Users, sessions: d.Sessions, avatars: avatars, show: show},
		CollectAvatars:   &CollectAvatars{users: d.Users, blobs: d.Blobs, clock: d.Clock, log: d.Log},
		Introspect:       &Introspect{apps: apps, sessions: d.Sessions, clock: d.Clock},
	}
	if a.OpenAPI, err = newOpenAPI(wx, d.OpenAPIPaths, o.OpenAPIPerMinute, d.OpenAPILimiter); err != nil {
		return nil, err
	}
	if d.Consents != nil {
		a.Subscriptions = newSubscriptions(d.Consents, d.Clock, d.LongTermTemplates)
		if d.Outbox != nil {
			a.Messages = &Messages{apps: apps, outbox: d.Outbox, consents: d.Consents, users: d.Users, wx: wx, clock: d.Clock, observe: d.MessageObserver}
		}
	}
	if d.Inbox != nil {
		a.PushEvents = &PushEvents{inbox: d.Inbox, clock: d.Clock}
	}
	if d.Inbox != nil && len(d.PushApps) > 0 {
		if d.PushObserver == nil {
			d.PushObserver = nopPushObserver{}
		}
		if a.ReceivePush, err = newReceivePush(d.PushApps, d.Inbox, d.Clock, d.PushObserver, o.Push); err != nil {
			return nil, err
		}
		a.ReceivePush.subscriptions, a.ReceivePush.messages = a.Subscriptions, a.Messages
		if d.Webhook != nil || a.Messages != nil {
			a.DeliverPush = &DeliverPush{webhook: d.Webhook, messages: a.Messages}
		}
	}
	if err := a.checkAvatars(d, o, avatars); err != nil {
		return nil, err
	}
	return a, nil
}

// AppID returns the app a request is for: named, or with "" the one app
// served. Several apps and none named, or an app not served, is invalid
// input naming the parameter. The HTTP adapter keys its login limit by it.
func (a *App) AppID(named string) (string, error) {
	wc, err := a.apps.lookup(named)
	if err != nil {
		return "", err
	}
	return wc.AppID(), nil
}

// newApps indexes the apps served by appid.
func newApps(list []ports.WeChat) (apps, error) {
	a := apps{byID: make(map[string]ports.WeChat, len(list))}
	for _, wc := range list {
		if _, dup := a.byID[wc.AppID()]; dup || wc.AppID() == "" {
			return apps{}, fmt.Errorf("app: app %q given twice, or without an appid", wc.AppID())
		}
		a.byID[wc.AppID()] = wc
	}
	if len(list) == 1 {
		a.only = list[0]
	}
	return a, nil
}
