package wiring

import (
	"context"
	"fmt"
	"log/slog"

	"go.uber.org/fx"

	"wxbackend/adapters/metrics"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/usercache"
	"wxbackend/ports"
)

// userDatabase opens the user database; SQLite, MySQL and PostgreSQL differ
// only in options. With o.Migrate the schema is brought up to date when the
// app starts, before anything built on the store starts.
func userDatabase(o sqlstore.Options) fx.Option {
	return fx.Module("sqlstore",
		fx.Provide(
			func(lc fx.Lifecycle, log *slog.Logger) (*sqlstore.Store, error) {
				st, err := sqlstore.Open(o)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.Hook{
					OnStart: func(ctx context.Context) error {
						if !o.Migrate {
							return nil
						}
						v, err := st.Migrate(ctx)
						if err != nil {
							return fmt.Errorf("migrate %s: %w", o.Driver, err)
						}
						log.Info("schema up to date", slog.String("driver", o.Driver), slog.Int64("version", v))
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

type userRepoParams struct {
	fx.In
	Repo    ports.UserRepo
	Backend usercache.Backend
	Metrics *metrics.Metrics `optional:"true"`
	Log     *slog.Logger
}

// userCache decorates the user repo, in one place: the database measured
// (with metrics on), then the cache in front of it (adapters/usercache),
// keeping copies where the sessions are (see sessionStore). A TTL of 0
// leaves the cache out.
func userCache(o usercache.Options) fx.Option {
	return fx.Decorate(func(p userRepoParams) (ports.UserRepo, error) {
		repo := p.Repo
		var observe usercache.Observer
		if p.Metrics != nil {
			repo = p.Metrics.Users(repo)
			observe = p.Metrics.ObserveUserCache
		}
		if o.TTL <= 0 {
			return repo, nil
		}
		return usercache.New(repo, p.Backend, o.TTL, p.Log, observe)
	})
}
