package wiring

import (
	"context"
	"strconv"
	"time"

	"wxbackend/adapters/httpapi"

	"go.uber.org/fx"

	"wxbackend/adapters/memory"
	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/usercache"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/ports"
)

// Limiters are the rate limiters, kept where the sessions are: in this
// process, or in Redis shared by every server (see config.Limits). The HTTP
// adapter applies them all (httpapi.Limits).
type Limiters struct {
	// Limits are the login and session limits, of every app and of the
	// apps with limits of their own.
	httpapi.Limits
	// Exchanges bounds each app's jscode2session calls per second; the
	// app applies it (app.Deps.Exchanges). Nil: no bound.
	Exchanges ports.RateLimiter
	// OpenAPI makes the limiter of the WeChat API calls passed on for your
	// services at a limit per minute (app.Deps.OpenAPILimiter).
	OpenAPI func(perMinute int) ports.RateLimiter
}

// RequestScope gives each HTTP request's context what a store keeps for the
// request's length (nil: nothing).
type RequestScope func(context.Context) context.Context

// sessionStore chooses the session store, and with it where the rate limits,
// the WeChat access token and the user cache's copies are kept: Redis
// sessions mean several servers, which must share them.
//
// With Redis and the user cache on, the read that authenticates a request
// brings the copy of its user along, in the same round trip, for the
// request's scope (adapters/usercache, scope.go): each HTTP request gets one.
func sessionStore(s config.Sessions, ttl time.Duration, m memory.Options, r redisstore.Options, l config.Limits, perApp map[string]config.Limits, cache usercache.Options) fx.Option {
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
				func(st *redisstore.SessionStore) ports.SessionStore {
					if cache.TTL > 0 {
						return usercache.NewSessions(st, st)
					}
					return st
				},
				func() RequestScope {
					if cache.TTL > 0 {
						return usercache.WithScope
					}
					return nil
				},
				func(st *redisstore.SessionStore) ports.TokenCache { return st.TokenCache() },
				func(st *redisstore.SessionStore) usercache.Backend { return st.UserCache() },
				func(st *redisstore.SessionStore) Limiters {
					out := limiters(l, perApp, func(name string, n int) ports.RateLimiter {
						return st.RateLimiter(name, n, time.Minute)
					})
					if l.WeChatLoginsPerSecond > 0 {
						out.Exchanges = st.RateLimiter("jscode2session", l.WeChatLoginsPerSecond, time.Second)
					}
					out.OpenAPI = func(n int) ports.RateLimiter {
						return st.RateLimiter("openapi:"+strconv.Itoa(n), n, time.Minute)
					}
					return out
				},
			),
		)
	}
	// "memory"; the configuration admits nothing else.
	return fx.Module("memory",
		fx.Provide(
			func(clock ports.Clock) *memory.SessionStore {
				return memory.NewSessionStore(m, sliding, s.MaxPerUser, clock)
			},
			func(st *memory.SessionStore) ports.SessionStore { return st },
			fx.Annotate(memory.NewTokenCache, fx.As(new(ports.TokenCache))),
			func() usercache.Backend { return memory.NewUserCache(m) },
			func(clock ports.Clock) Limiters {
				out := limiters(l, perApp, func(_ string, n int) ports.RateLimiter {
					return memory.NewRateLimiter(n, time.Minute, clock)
				})
				if l.WeChatLoginsPerSecond > 0 {
					out.Exchanges = memory.NewRateLimiter(l.WeChatLoginsPerSecond, time.Second, clock)
				}
				out.OpenAPI = func(n int) ports.RateLimiter { return memory.NewRateLimiter(n, time.Minute, clock) }
				return out
			},
		),
	)
}

// limiters makes the configured limiters with newLimiter; a rate of 0 is none.
func limiters(l config.Limits, perApp map[string]config.Limits, newLimiter func(name string, perMinute int) ports.RateLimiter) Limiters {
	out := Limiters{Limits: httpapi.Limits{AppLogin: map[string]ports.RateLimiter{}, AppSession: map[string]ports.RateLimiter{}}}
	out.Login, out.Session = pair(l, "", newLimiter)
	for app, al := range perApp {
		out.AppLogin[app], out.AppSession[app] = pair(al, ":"+app, newLimiter)
	}
	return out
}

// pair makes the login and session limiters of l (nil for a rate of 0).
func pair(l config.Limits, suffix string, newLimiter func(name string, perMinute int) ports.RateLimiter) (login, session ports.RateLimiter) {
	if l.LoginPerMinute > 0 {
		login = newLimiter("login"+suffix, l.LoginPerMinute)
	}
	if l.SessionPerMinute > 0 {
		session = newLimiter("session"+suffix, l.SessionPerMinute)
	}
	return login, session
}
