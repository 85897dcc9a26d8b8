package wiring

import (
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/memory"
	"wxbackend/adapters/redisstore"
	"wxbackend/config"
	"wxbackend/ports"
)

// Limiters are the rate limiters, kept where the sessions are: in this
// process, or in Redis shared by every server (see config.Limits).
type Limiters struct {
	Login, Session ports.RateLimiter // nil: no limit
}

// sessionStore chooses the session store, and with it where the rate limits
// and the WeChat access token are kept: Redis sessions mean several
// servers, which must share both.
func sessionStore(s config.Sessions, ttl time.Duration, m memory.Options, r redisstore.Options, l config.Limits) fx.Option {
	var sliding time.Duration
	if s.Sliding {
		sliding = ttl
	}
	if s.Store == "redis" {
		return fx.Module("redis",
			fx.Provide(
				func(lc fx.Lifecycle, clock ports.Clock) (*redisstore.SessionStore, error) {
					st, err := redisstore.NewSessionStore(r, sliding, s.MaxPerUser, clock)
					if err != nil {
						return nil, err
					}
					lc.Append(fx.StopHook(st.Close))
					return st, nil
				},
				func(st *redisstore.SessionStore) ports.SessionStore { return st },
				func(st *redisstore.SessionStore) ports.TokenCache { return st.TokenCache() },
				func(st *redisstore.SessionStore) Limiters {
					return limiters(l, func(name string, n int) ports.RateLimiter {
						return st.RateLimiter(name, n, time.Minute)
					})
				},
			),
		)
	}
	// "memory"; the configuration admits nothing else.
	return fx.Module("memory",
		fx.Provide(
			fx.Annotate(func(clock ports.Clock) *memory.SessionStore {
				return memory.NewSessionStore(m, sliding, s.MaxPerUser, clock)
			},
				fx.As(new(ports.SessionStore))),
			fx.Annotate(memory.NewTokenCache, fx.As(new(ports.TokenCache))),
			func(clock ports.Clock) Limiters {
				return limiters(l, func(_ string, n int) ports.RateLimiter {
					return memory.NewRateLimiter(n, time.Minute, clock)
				})
			},
		),
	)
}

// limiters makes the configured limiters with newLimiter; a rate of 0 is none.
func limiters(l config.Limits, newLimiter func(name string, perMinute int) ports.RateLimiter) Limiters {
	var out Limiters
	if l.LoginPerMinute > 0 {
		out.Login = newLimiter("login", l.LoginPerMinute)
	}
	if l.SessionPerMinute > 0 {
		out.Session = newLimiter("session", l.SessionPerMinute)
	}
	return out
}
