// Package wiring assembles wxbackend with go.uber.org/fx: it chooses the
// adapters from the configuration and binds them to the ports. It is the one
// place, with cmd, that knows every package.
package wiring

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"wxbackend/adapters/crypto"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/redis"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/system"
	"wxbackend/adapters/wechat"
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
	)
}

// Core provides the use cases and the adapters every configuration shares.
var Core = fx.Module("core",
	fx.Provide(
		fx.Annotate(crypto.NewDecrypter, fx.As(new(ports.Decrypter))),
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
}

func newService(p serviceParams) (*app.Service, error) {
	return app.New(app.Deps{
		Sessions: p.Sessions, Users: p.Users, Decrypter: p.Decrypter,
		WeChat: p.WeChat, Clock: p.Clock, Tokens: p.Tokens,
	}, app.Options{
		SessionTTL:        p.Cfg.Session.TTL,
		WatermarkMaxAge:   p.Cfg.Auth.WatermarkMaxAge,
		LoginReplayWindow: p.Cfg.Auth.LoginReplayWindow,
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
			fx.Provide(fx.Annotate(
				func(lc fx.Lifecycle) (*redis.SessionStore, error) {
					st, err := redis.NewSessionStore(RedisOptions(r, sliding))
					if err != nil {
						return nil, err
					}
					lc.Append(fx.StopHook(st.Close))
					return st, nil
				},
				fx.As(new(ports.SessionStore)))),
		)
	default: // "memory"; config validation admits nothing else
		return fx.Module("memory",
			fx.Provide(fx.Annotate(
				func() *memory.SessionStore { return memory.NewSessionStore(c.CleanupInterval, sliding) },
				fx.As(new(ports.SessionStore)))),
		)
	}
}

// RedisOptions are the Redis store's options from the configuration.
func RedisOptions(r config.Redis, sliding time.Duration) redis.Options {
	return redis.Options{
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

// WeChat provides the WeChat API client.
var WeChat = fx.Module("wechat",
	fx.Provide(fx.Annotate(
		func(lc fx.Lifecycle, cfg config.Config) (*wechat.Client, error) {
			c, err := wechat.NewClient(wechat.Options{
				AppID: cfg.WeChat.AppID, Secret: cfg.WeChat.AppSecret.Reveal(),
				BaseURL: cfg.WeChat.BaseURL, Timeout: cfg.WeChat.Timeout,
			})
			if err != nil {
				return nil, err
			}
			lc.Append(fx.StopHook(c.Close))
			return c, nil
		},
		fx.As(new(ports.WeChat)))),
)

// HTTP provides the router and runs the server for the app's lifetime.
var HTTP = fx.Module("http",
	fx.Provide(
		func(svc *app.Service, log *slog.Logger, cfg config.Config) *httpapi.Server {
			h := httpapi.NewRouter(svc, log, httpapi.Options{
				MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
				ReadyTimeout: cfg.WeChat.Timeout,
			})
			return httpapi.NewServer(h, log, httpapi.ServerOptions{
				Addr:              cfg.HTTP.Addr,
				ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
				ReadTimeout:       cfg.HTTP.ReadTimeout,
				WriteTimeout:      cfg.HTTP.WriteTimeout,
				IdleTimeout:       cfg.HTTP.IdleTimeout,
				ShutdownTimeout:   cfg.HTTP.ShutdownTimeout,
			})
		},
	),
	fx.Invoke(func(lc fx.Lifecycle, s *httpapi.Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
)

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
