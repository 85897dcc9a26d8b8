package wiring

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
	"wxbackend/ports"
)

// StoreWatchInterval is how often the server checks that its stores
// answer (storeWatch); tests supply a shorter one.
type StoreWatchInterval time.Duration

const (
	defaultStoreWatchInterval = 5 * time.Second
	// storeDownReminder is how often a store that still does not answer is
	// logged again: the log then shows how long an outage lasted.
	storeDownReminder = time.Minute
	storePingTimeout  = 2 * time.Second
)

type storeWatchParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Log       *slog.Logger
	Clock     ports.Clock
	Config    config.Config
	DB        *sqlstore.Store
	Redis     *redisstore.SessionStore `optional:"true"`
	Interval  StoreWatchInterval       `optional:"true"`
}

// storeWatch pings the user database, and Redis with Redis sessions, for
// the server's lifetime. A store that stops answering is logged at ERROR
// once, naming it, its setting and the error's class (connection_refused,
// timeout…), then once a minute while it still does not answer, and at INFO
// when it answers again; every failed check at DEBUG. Requests meanwhile answer code 9, each logged as
// "request failed"; these lines say which store, without one per request.
// It pings the stores themselves, not their measured decorators, so the
// store metrics count only the requests'.
func storeWatch() fx.Option {
	return fx.Invoke(func(p storeWatchParams) {
		stores := []watchedStore{{name: "user database (" + p.Config.DB.Driver + ")", setting: "WXB_DB_DSN", ping: p.DB.Users.Ping}}
		if p.Redis != nil {
			stores = append(stores, watchedStore{name: "Redis (sessions)", setting: "WXB_REDIS_ADDRS", ping: p.Redis.Ping})
		}
		interval := time.Duration(p.Interval)
		if interval <= 0 {
			interval = defaultStoreWatchInterval
		}
		runInBackground(p.Lifecycle, func(ctx context.Context) {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			watchStores(ctx, p.Log, stores, tick.C, p.Clock.Now)
		})
	})
}

// watchedStore is a store the server watches, by name and setting.
type watchedStore struct {
	name, setting string
	ping          func(context.Context) error

	down      bool
	since     time.Time // when it stopped answering
	lastShown time.Time // when that was last logged
}

// watchStores pings each store at once, then at every tick until ctx ends,
// and logs what changed (storeWatch): a store down when the server starts
// (Redis is not dialed before a request needs it) is logged at once.
func watchStores(ctx context.Context, log *slog.Logger, stores []watchedStore, tick <-chan time.Time, now func() time.Time) {
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
		}
		for i := range stores {
			s := &stores[i]
			pctx, cancel := context.WithTimeout(ctx, storePingTimeout)
			err := s.ping(pctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			t := now()
			if err != nil {
				log.Debug("store check failed", slog.String("store", s.name), slog.String("error", err.Error()))
			}
			switch {
			case err != nil && !s.down:
				s.down, s.since, s.lastShown = true, t, t
				log.Error("store not answering: requests that need it answer code 9", slog.String("store", s.name),
					slog.String("setting", s.setting), slog.String("class", errorClass(err)), slog.String("error", err.Error()))
			case err != nil && t.Sub(s.lastShown) >= storeDownReminder:
				s.lastShown = t
				log.Error("store still not answering", slog.String("store", s.name), slog.String("setting", s.setting),
					slog.Duration("for", t.Sub(s.since).Round(time.Second)), slog.String("class", errorClass(err)), slog.String("error", err.Error()))
			case err == nil && s.down:
				s.down = false
				log.Info("store answering again", slog.String("store", s.name), slog.Duration("after", t.Sub(s.since).Round(time.Second)))
			}
		}
	}
}

// errorClass names the kind of a store's failure for an operator:
// connection_refused, connection_reset, timeout, dns, or the domain kind.
func errorClass(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "bad connection"):
		return "connection_reset"
	case errors.As(err, &dns):
		return "dns"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return domain.KindOf(err).String()
}
