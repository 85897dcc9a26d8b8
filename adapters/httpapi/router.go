// Package httpapi is the HTTP adapter: the contract's routes, on chi, in front
// of the app's use cases.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/app"
	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options configure the routes; each tagged field is a setting (see
// config/setting).
type Options struct {
	// MaxBodyBytes caps a request body; larger ones get code 11 (413).
	MaxBodyBytes int64 `setting:"http-max-body" default:"65536" usage:"largest request body in bytes (then code 11)"`
	// ReadyTimeout bounds the store checks of /readyz.
	ReadyTimeout time.Duration `setting:"http-ready-timeout" default:"2s" usage:"how long /readyz waits for the stores before answering code 9"`
	// TrustedProxies are the proxies whose X-Forwarded-For names the client;
	// without them the client is the connection's peer.
	TrustedProxies []string `setting:"http-trusted-proxies" usage:"proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client; set it behind a load balancer"`
	// AvatarMaxBytes caps an uploaded avatar image; larger ones get code 11.
	AvatarMaxBytes int64 `setting:"avatar-max-bytes" default:"2097152" usage:"largest avatar upload in bytes (then code 11)"`
	// AvatarMaxUploads bounds the avatar uploads read and processed at once
	// (each holds a buffer of up to AvatarMaxBytes); 0: no bound.
	AvatarMaxUploads int `setting:"avatar-max-uploads" default:"16" usage:"most avatar uploads read and processed at once per server, each holding up to WXB_AVATAR_MAX_BYTES; more wait up to 1 s, then code 7 (0: no bound)"`
	// ServeAvatars serves stored avatars under /media/avatars/ (when they are
	// kept on this server's disk rather than in object storage).
	ServeAvatars bool
	// Upstreams are the built-in gateway's services
	// (GatewayOptions.Upstreams); ObserveGateway, when set, is told of
	// every request under their prefixes.
	Upstreams      []Upstream
	ObserveGateway GatewayObserver
}

// Observer is told of every request once it is answered: its route pattern
// ("" when none matched), method, contract code (0 for success, and for
// answers without an envelope) and duration.
type Observer func(route, method string, code int, d time.Duration)

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) {
	if o.MaxBodyBytes < 1024 {
		p.Add(&o.MaxBodyBytes, "must be at least 1024 bytes")
	}
	p.Positive(&o.ReadyTimeout)
	if o.AvatarMaxBytes < 1024 || o.AvatarMaxBytes > 32<<20 {
		p.Add(&o.AvatarMaxBytes, "must be between 1 KiB and 32 MiB")
	}
	p.NotNegative(&o.AvatarMaxUploads)
	if _, err := parsePrefixes(o.TrustedProxies); err != nil {
		p.Add(&o.TrustedProxies, "%v", err)
	}
}

// parsePrefixes reads addresses and CIDRs; a lone address is a /32 or /128.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// handler serves the routes.
type handler struct {
	app     *app.App
	log     *slog.Logger
	opts    Options
	proxies []netip.Prefix
	clock   ports.Clock
	limits  Limits
	observe Observer      // nil: none
	uploads chan struct{} // slots of avatar uploads read at once; nil: no bound
	// userUploads counts each user's uploads in flight (at most
	// uploadsPerUser).
	userUploads inFlight

	untrustedXFF sync.Once

	ready readiness
}

// readiness caches the answer of /readyz for a second on the clock: load
// balancers ask often, and a store that is down should not be asked by
// every probe.
type readiness struct {
	mu      sync.Mutex
	at      time.Time
	err     error
	checked bool
}

// NewRouter returns the HTTP handler of every route of the contract, in
// front of a's use cases: it authenticates each request that carries a
// token once, applies limits, and tells observe (when not nil) of every
// request. The clock times the readiness cache. It fails on trusted proxies
// that do not parse.
func NewRouter(a *app.App, log *slog.Logger, o Options, clock ports.Clock, limits Limits, observe Observer) (http.Handler, error) {
	proxies, err := parsePrefixes(o.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	h := &handler{app: a, log: log, opts: o, proxies: proxies, clock: clock, limits: limits, observe: observe}
	h.userUploads.max = uploadsPerUser
	if o.AvatarMaxUploads > 0 {
		h.uploads = make(chan struct{}, o.AvatarMaxUploads)
	}
	r := chi.NewRouter()
	r.Use(withRequestID, h.accessLog, h.recoverer)
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.methodNotAllowed)

	// The tutorial-compatible ("classic") routes, with and without their trailing slash.
	for _, p := range []string{"/login/", "/login"} {
		r.Post(p, h.classicLogin)
	}
	// The routes that take a token: authenticated once, before the body is
	// read when the token is in the Authorization header.
	authed := r.With(h.authenticate)
	for _, p := range []string{"/getinfo/", "/getinfo"} {
		authed.Post(p, h.classicGetInfo)
	}

	r.Route("/api/v1", func(r chi.Router) {
		r.Post("/login", h.login)
		r.Group(func(r chi.Router) {
			r.Use(h.authenticate)
			r.Post("/userinfo", h.userInfo)
			r.Get("/me", h.me)
			r.Post("/logout", h.logout)
			r.Post("/me/profile", h.editProfile)
			r.Post("/me/avatar", h.uploadAvatar)
			r.Post("/me/phone", h.sharePhone)
			r.Post("/me/phone/remove", h.removePhone)
			r.Post("/me/subscriptions", h.subscribe)
			r.Get("/session", h.sessionStatus)
		})
	})
	if o.ServeAvatars {
		r.Get("/media/avatars/{name}", h.avatar)
		r.Head("/media/avatars/{name}", h.avatar)
	}

	// Forward auth for a proxy in front (forwardauth.go): any method a
	// proxy forwards, and any path under it (Envoy appends the original one).
	for _, m := range forwardAuthMethods {
		r.MethodFunc(m, ForwardAuthPath, h.forwardAuth)
		r.MethodFunc(m, ForwardAuthPath+"/*", h.forwardAuth)
	}

	h.pushRoutes(r) // WeChat's message push (push.go)

	r.Get("/healthz", h.healthz)
	r.Get("/readyz", h.readyz)
	r.Get("/openapi.json", h.openAPI)
	if err := h.mountGateway(r, o.Upstreams, o.ObserveGateway); err != nil {
		return nil, err
	}
	return r, nil
}

// Body parameters of each route.
var (
	loginFields    = []string{"code"}
	userInfoFields = []string{"encryptedData", "encrypedData", "iv", "rawData", "signature", "token"}
	tokenFields    = []string{"token"}
	logoutFields   = []string{"token", "all"}
)

func (h *handler) classicLogin(w http.ResponseWriter, r *http.Request) {
	res, err := h.doLogin(r)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	writeOK(w, apiclient.Login{Token: res.Token.Reveal(), ExpiresIn: int64(res.ExpiresIn / time.Second)})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	res, err := h.doLogin(r)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	u := profileOf(res.User)
	writeOK(w, apiclient.Login{Token: res.Token.Reveal(), ExpiresIn: int64(res.ExpiresIn / time.Second), User: &u})
}

func (h *handler) doLogin(r *http.Request) (app.LoginResult, error) {
	if err := h.limitLogin(r); err != nil {
		return app.LoginResult{}, err
	}
	f, err := readFields(r, h.opts.MaxBodyBytes, loginFields...)
	if err != nil {
		return app.LoginResult{}, err
	}
	appID, err := appOf(r)
	if err != nil {
		return app.LoginResult{}, err
	}
	return h.app.Login.Handle(r.Context(), appID, f.val("code"), h.client(r))
}

func (h *handler) classicGetInfo(w http.ResponseWriter, r *http.Request) {
	u, err := h.doUserInfo(r)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	writeOK(w, classicProfileOf(u))
}

func (h *handler) userInfo(w http.ResponseWriter, r *http.Request) {
	u, err := h.doUserInfo(r)
	h.replyUser(w, r, u, err)
}

func (h *handler) doUserInfo(r *http.Request) (domain.User, error) {
	f, a, err := h.readAuthed(r, userInfoFields...)
	if err != nil {
		return domain.User{}, err
	}
	return h.app.SaveUserInfo.Handle(r.Context(), a.Session, app.EncryptedUserInfo{
		EncryptedData: f.get("encryptedData", "encrypedData"),
		IV:            f.val("iv"),
		RawData:       f.val("rawData"),
		Signature:     f.val("signature"),
	})
}

func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	a, err := h.authOf(r, nil)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	u, err := h.app.Me.Handle(r.Context(), a.Session)
	h.replyUser(w, r, u, err)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	f, a, err := h.readAuthed(r, logoutFields...)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	all, err := boolField(f, "all")
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	if all {
		err = h.app.LogoutEverywhere.Handle(r.Context(), a.Session)
	} else {
		err = h.app.Logout.Handle(r.Context(), a)
	}
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	writeOK(w, nil)
}

// boolField reads an optional true/false field ("1"/"0" too).
func boolField(f fields, name string) (bool, error) {
	v, ok := f.lookup(name)
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, domain.Malformed(name, "must be true or false")
	}
	return b, nil
}

// healthz says the process is up and serving.
func (h *handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeOK(w, apiclient.Status{Status: "up"})
}

// readyTTL is how long /readyz answers from its last check.
const readyTTL = time.Second

// readyz says whether the stores answer, for load balancers. The answer is
// cached for readyTTL, and only changes of state are logged (once when the
// server stops being ready, once when it is ready again), not every probe.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	err := h.checkReady(r.Context())
	if err != nil {
		o, msg := outcomeOf(err)
		writeEnvelope(w, o.status, envelope{Code: o.code, Status: o.code, Msg: msg})
		return
	}
	writeOK(w, apiclient.Status{Status: "ready"})
}

func (h *handler) checkReady(ctx context.Context) error {
	h.ready.mu.Lock()
	defer h.ready.mu.Unlock()
	now := h.clock.Now()
	if h.ready.checked && now.Sub(h.ready.at) < readyTTL {
		return h.ready.err
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.ReadyTimeout)
	defer cancel()
	err := h.app.Ready.Handle(ctx)
	switch {
	case err != nil && (!h.ready.checked || h.ready.err == nil):
		h.log.LogAttrs(ctx, slog.LevelError, "not ready", slog.String("error", err.Error()))
	case err == nil && h.ready.checked && h.ready.err != nil:
		h.log.LogAttrs(ctx, slog.LevelInfo, "ready again")
	}
	h.ready.at, h.ready.err, h.ready.checked = now, err, true
	return err
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, h.log, errNoRoute)
}

func (h *handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, h.log, errNoMethod)
}
