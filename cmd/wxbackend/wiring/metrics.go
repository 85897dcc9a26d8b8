package wiring

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"wxbackend/adapters/httpapi"

	"go.uber.org/fx"

	"wxbackend/adapters/memory"
	"wxbackend/adapters/metrics"
	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/ports"
)

// RequestObserver is told of every HTTP request (see httpapi.Observer).
type RequestObserver func(route, method string, code int, d time.Duration)

// metricsListener measures the server and serves the measurements on their
// own listener, when one is configured: the ports are decorated (the core
// does not know it is measured; the user repo is measured under its cache,
// in userCache), the HTTP adapter reports each request, and
// the pools are read at scrape time. Decorations at the root apply to the
// whole graph.
func metricsListener(c config.Metrics) fx.Option {
	if c.Addr == "" {
		return fx.Options()
	}
	return fx.Options(
		fx.Provide(metrics.New,
			func(m *metrics.Metrics) RequestObserver { return m.ObserveRequest },
			func(m *metrics.Metrics) httpapi.GatewayObserver { return m.Gateway() }),
		fx.Decorate(
			func(m *metrics.Metrics, s ports.SessionStore) ports.SessionStore { return m.Sessions(s) },
			func(m *metrics.Metrics, b ports.BlobStore) ports.BlobStore { return m.Blobs(b) },
			func(m *metrics.Metrics, c ports.TokenCache) ports.TokenCache { return m.TokenCache(c) },
			func(m *metrics.Metrics, apps []ports.WeChat) []ports.WeChat {
				out := make([]ports.WeChat, len(apps))
				for i, w := range apps {
					out[i] = m.WeChat(w)
				}
				return out
			},
			func(m *metrics.Metrics, l Limiters) Limiters { return measuredLimiters(m, l) },
		),
		fx.Invoke(registerPools),
		fx.Invoke(func(lc fx.Lifecycle, m *metrics.Metrics, log *slog.Logger) {
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", m.Handler())
			serveAside(lc, log, "metrics", c.ListenAddr(), mux)
		}),
	)
}

// measuredLimiters counts each limiter's refusals under its name.
func measuredLimiters(m *metrics.Metrics, l Limiters) Limiters {
	wrap := func(name string, r ports.RateLimiter) ports.RateLimiter {
		if r == nil {
			return nil
		}
		return m.Limiter(name, r)
	}
	out := Limiters{Limits: httpapi.Limits{Login: wrap("login", l.Login), Session: wrap("session", l.Session),
		AppLogin: map[string]ports.RateLimiter{}, AppSession: map[string]ports.RateLimiter{}}, Exchanges: wrap("jscode2session", l.Exchanges)}
	for app, r := range l.AppLogin {
		out.AppLogin[app] = wrap("login", r)
	}
	for app, r := range l.AppSession {
		out.AppSession[app] = wrap("session", r)
	}
	if l.OpenAPI != nil {
		out.OpenAPI = func(perMinute int) ports.RateLimiter { return wrap("openapi", l.OpenAPI(perMinute)) }
	}
	return out
}

type poolParams struct {
	fx.In
	Metrics *metrics.Metrics
	Config  config.Config
	DB      *sqlstore.Store
	Redis   *redisstore.SessionStore `optional:"true"`
	Memory  *memory.SessionStore     `optional:"true"`
}

// registerPools reads the pools at scrape time: the user database's, Redis's,
// and the memory store's live sessions (Redis's would need a scan).
func registerPools(p poolParams) {
	p.Metrics.DB(p.Config.DB.Driver, p.DB.Stats)
	if p.Redis != nil {
		st := p.Redis
		p.Metrics.RedisPool(func() metrics.PoolStats {
			s := st.PoolStats()
			return metrics.PoolStats{Hits: uint64(s.Hits), Misses: uint64(s.Misses), Timeouts: uint64(s.Timeouts),
				TotalConns: uint64(s.TotalConns), IdleConns: uint64(s.IdleConns), MaxConns: uint64(st.PoolSize())}
		})
	}
	if p.Memory != nil {
		st := p.Memory
		p.Metrics.Gauge("sessions_live", "Sessions held by the memory store (expired ones not swept yet included).", func() float64 {
			n, _ := st.Count(context.Background())
			return float64(n)
		})
	}
}
