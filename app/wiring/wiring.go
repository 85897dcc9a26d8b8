// Package wiring assembles wxbackend with go.uber.org/fx: it chooses the
// adapters from the configuration and binds them to the ports. It is the one
// place, with cmd, that knows every package.
package wiring

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/system"
	"wxbackend/adapters/wechat"
	"wxbackend/adapters/wechat/sandbox"
	"wxbackend/app"
	"wxbackend/config"
	"wxbackend/ports"
)

// Options builds the whole server from cfg, logging to logOut.
func Options(cfg config.Config, logOut io.Writer) fx.Option {
	return fx.Options(
		fx.Supply(cfg),
		fx.Provide(func() *slog.Logger { return NewLogger(cfg.Log, logOut) }),
		fx.WithLogger(func(log *slog.Logger) fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		Core,
		sessionModule(cfg.Session, cfg.Redis),
		userRepoModule(cfg.DB),
		WeChat,
		HTTP,
		sandboxModule(cfg.Sandbox, cfg.WeChat, logOut), // after HTTP: its banner shows the server's address
	)
}

// Core provides the use cases and the adapters every configuration shares.
var Core = fx.Module("core",
	fx.Provide(
		fx.Annotate(aescbc.NewDecrypter, fx.As(new(ports.Decrypter))),
		fx.Annotate(func() system.Clock { return system.Clock{} }, fx.As(new(ports.Clock))),
		fx.Annotate(func() system.TokenSource { return system.TokenSource{} }, fx.As(new(ports.TokenSource))),
		newService,
	),
)

type serviceParams struct {
	fx.In
	Cfg       config.Config
	Sessions  ports.SessionStore
	Users     ports.UserRepo
	Decrypter ports.Decrypter
	WeChat    ports.WeChat
	Clock     ports.Clock
	Tokens    ports.TokenSource
	Limits    Limiters
	Log       *slog.Logger
}

// Limiters are the rate limiters: in memory, or in Redis (shared by every
// server) when sessions are.
type Limiters struct {
	Login, Session ports.RateLimiter // nil: no limit
}

func newService(p serviceParams) (*app.Service, error) {
	return app.New(app.Deps{
		Sessions: p.Sessions, Users: p.Users, Decrypter: p.Decrypter,
		WeChat: p.WeChat, Clock: p.Clock, Tokens: p.Tokens, Log: p.Log,
	}, app.Options{
		SessionTTL:        p.Cfg.Session.TTL,
		WatermarkMaxAge:   p.Cfg.Auth.WatermarkMaxAge,
		LoginReplayWindow: p.Cfg.Auth.LoginReplayWindow,
		SessionLimiter:    p.Limits.Session,
	})
}

// sessionModule chooses the session store.
func sessionModule(c config.Session, r config.Redis) fx.Option {
	var sliding time.Duration
	if c.Sliding {
		sliding = c.TTL
	}
	switch c.Store {
	case "redis":
		return fx.Module("redis",
			fx.Provide(
				func(lc fx.Lifecycle) (*redisstore.SessionStore, error) {
					st, err := redisstore.NewSessionStore(RedisOptions(r, sliding))
					if err != nil {
						return nil, err
					}
					lc.Append(fx.StopHook(st.Close))
					return st, nil
				},
				func(st *redisstore.SessionStore) ports.SessionStore { return st },
				func(st *redisstore.SessionStore, cfg config.Config) Limiters {
					return limiters(cfg.Auth, func(name string, n int) ports.RateLimiter {
						return st.RateLimiter(name, n, time.Minute)
					})
				},
			),
		)
	default: // "memory"; config validation admits nothing else
		return fx.Module("memory",
			fx.Provide(
				fx.Annotate(
					func() *memory.SessionStore { return memory.NewSessionStore(c.CleanupInterval, sliding) },
					fx.As(new(ports.SessionStore))),
				func(cfg config.Config) Limiters {
					return limiters(cfg.Auth, func(_ string, n int) ports.RateLimiter {
						return memory.NewRateLimiter(n, time.Minute)
					})
				},
			),
		)
	}
}

// limiters makes the configured limiters with newLimiter; a rate of 0 is none.
func limiters(a config.Auth, newLimiter func(name string, perMinute int) ports.RateLimiter) Limiters {
	var l Limiters
	if a.LoginRatePerMinute > 0 {
		l.Login = newLimiter("login", a.LoginRatePerMinute)
	}
	if a.SessionRatePerMinute > 0 {
		l.Session = newLimiter("session", a.SessionRatePerMinute)
	}
	return l
}

// RedisOptions are the Redis store's options from the configuration.
func RedisOptions(r config.Redis, sliding time.Duration) redisstore.Options {
	return redisstore.Options{
		Addrs: r.AddrList(), MasterName: r.MasterName, Username: r.Username, Password: r.Password.Reveal(),
		DB: r.DB, TLS: r.TLS, PoolSize: r.PoolSize, Timeout: r.Timeout, KeyPrefix: r.KeyPrefix, Sliding: sliding,
	}
}

// userRepoModule opens the user database; SQLite, MySQL and PostgreSQL differ
// only in options.
func userRepoModule(c config.DB) fx.Option {
	return fx.Module("sqlstore",
		fx.Provide(
			func(lc fx.Lifecycle, log *slog.Logger) (*sqlstore.Store, error) {
				st, err := OpenStore(c)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.Hook{
					OnStart: func(ctx context.Context) error {
						if !c.Migrate {
							return nil
						}
						v, err := st.Migrate(ctx)
						if err != nil {
							return fmt.Errorf("migrate %s: %w", c.Driver, err)
						}
						log.Info("schema up to date", slog.String("driver", c.Driver), slog.Int64("version", v))
						return nil
					},
					OnStop: func(context.Context) error { return st.Close() },
				})
				return st, nil
			},
			fx.Annotate(func(st *sqlstore.Store) *sqlstore.UserRepo { return st.Users }, fx.As(new(ports.UserRepo))),
		),
	)
}

// OpenStore opens the user database of c (used by the server and the migrate command).
func OpenStore(c config.DB) (*sqlstore.Store, error) {
	return sqlstore.Open(sqlstore.Options{
		Driver: c.Driver, DSN: c.DSN.Reveal(),
		MaxOpenConns: c.MaxOpenConns, MaxIdleConns: c.MaxIdleConns,
		ConnMaxLifetime: c.ConnMaxLifetime, ConnMaxIdleTime: c.ConnMaxIdleTime,
		QueryTimeout: c.QueryTimeout,
	})
}

// WeChat provides the WeChat API client: WeChat's own, or the sandbox's
// when the sandbox module runs.
var WeChat = fx.Module("wechat",
	fx.Provide(fx.Annotate(
		func(lc fx.Lifecycle, cfg config.Config, sb *SandboxEndpoint) (*wechat.Client, error) {
			o := wechat.Options{
				AppID: cfg.WeChat.AppID, Secret: cfg.WeChat.AppSecret.Reveal(),
				BaseURL: cfg.WeChat.BaseURL, Timeout: cfg.WeChat.Timeout,
			}
			if sb != nil {
				o.AppID, o.Secret, o.BaseURL = sb.Sandbox.AppID(), sb.Sandbox.AppSecret(), sb.URL
			}
			c, err := wechat.NewClient(o)
			if err != nil {
				return nil, err
			}
			lc.Append(fx.StopHook(c.Close))
			return c, nil
		},
		fx.ParamTags(``, ``, `optional:"true"`),
		fx.As(new(ports.WeChat)))),
)

// SandboxEndpoint is the WeChat sandbox a server in sandbox mode runs.
type SandboxEndpoint struct {
	Sandbox *sandbox.Sandbox
	URL     string // its base URL, for the WeChat client and for people
}

// sandboxModule runs the WeChat sandbox on its loopback address, when the
// configuration asks for it, and tells the person at the terminal what to do.
func sandboxModule(c config.Sandbox, w config.WeChat, out io.Writer) fx.Option {
	if !c.Enabled {
		return fx.Options()
	}
	return fx.Module("sandbox",
		fx.Provide(func(lc fx.Lifecycle) (*SandboxEndpoint, error) {
			// Listening now, not at start, gives the WeChat client the real
			// port when the address asks for any (":0").
			ln, err := sandbox.Listen(c.Addr)
			if err != nil {
				return nil, err
			}
			sb := sandbox.New(sandbox.Options{AppID: w.AppID, AppSecret: w.AppSecret.Reveal()})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error {
					go func() { done <- sb.Serve(ctx, ln) }()
					return nil
				},
				OnStop: func(context.Context) error {
					cancel()
					return <-done
				},
			})
			return &SandboxEndpoint{Sandbox: sb, URL: "http://" + ln.Addr().String()}, nil
		}),
		fx.Invoke(func(lc fx.Lifecycle, sb *SandboxEndpoint, srv *httpapi.Server, cfg config.Config) {
			lc.Append(fx.StartHook(func() { printSandboxBanner(out, sb, srv.Addr(), cfg) }))
		}),
	)
}

func printSandboxBanner(out io.Writer, sb *SandboxEndpoint, addr string, cfg config.Config) {
	fmt.Fprintf(out, `
  wxbackend is serving http://%s with a WeChat SANDBOX (appid %s) on %s
  users: %s (%s); sessions: %s

  Next, in another terminal:
    make demo                       a simulated mini-program logs in and saves a profile
    go run ./cmd/wxsim -help        drive the flow yourself (users, emoji, classic routes)

  To talk to the real WeChat instead, set WXB_WECHAT_APP_ID and WXB_WECHAT_APP_SECRET.

`, addr, sb.Sandbox.AppID(), sb.URL, cfg.DB.Driver, config.RedactDSN(cfg.DB.DSN.Reveal()), cfg.Session.Store)
}

// HTTP provides the router and runs the server for the app's lifetime.
var HTTP = fx.Module("http",
	fx.Provide(
		func(svc *app.Service, log *slog.Logger, cfg config.Config, limits Limiters) (*httpapi.Server, error) {
			proxies, err := cfg.HTTP.TrustedProxyList()
			if err != nil {
				return nil, err
			}
			h := httpapi.NewRouter(svc, log, httpapi.Options{
				MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
				ReadyTimeout:   cfg.WeChat.Timeout,
				LoginLimiter:   limits.Login,
				TrustedProxies: proxies,
			})
			return httpapi.NewServer(h, log, httpapi.ServerOptions{
				Addr:              cfg.HTTP.Addr,
				ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
				ReadTimeout:       cfg.HTTP.ReadTimeout,
				WriteTimeout:      cfg.HTTP.WriteTimeout,
				IdleTimeout:       cfg.HTTP.IdleTimeout,
				ShutdownTimeout:   cfg.HTTP.ShutdownTimeout,
			}), nil
		},
	),
	fx.Invoke(func(lc fx.Lifecycle, s *httpapi.Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
	fx.Invoke(func(lc fx.Lifecycle, cfg config.Config, log *slog.Logger) {
		if cfg.HTTP.DebugAddr == "" {
			return
		}
		srv := &http.Server{Addr: cfg.HTTP.DebugAddr, Handler: pprofMux(), ReadHeaderTimeout: 5 * time.Second}
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error {
				ln, err := net.Listen("tcp", cfg.HTTP.DebugAddr)
				if err != nil {
					return err
				}
				log.Info("pprof listening", slog.String("addr", ln.Addr().String()))
				go func() { _ = srv.Serve(ln) }()
				return nil
			},
			OnStop: srv.Shutdown,
		})
	}),
)

// pprofMux serves net/http/pprof's handlers.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// NewLogger returns the process's logger.
func NewLogger(c config.Log, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}
