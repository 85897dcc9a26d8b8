package wiring

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/metrics"
	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/ports"
)

// InternalServer is the internal listener's server (httpapi.NewInternalRouter),
// apart from the public one in the graph.
type InternalServer struct{ *httpapi.Server }

// internalListener serves the internal listener, for the other services of
// a deployment, when an API keys file is configured; without one it is off
// (and says so at start): every route it has needs a key. Its timeouts are
// the public server's. The keys are read again on SIGHUP and when the
// file changes (checked every k.ReloadInterval).
//
// Issues that add routes to it provide each as an httpapi.InternalRoute in
// the fx group "internal_routes":
//
//	fx.Provide(fx.Annotate(newMessagesRoute, fx.ResultTags(`group:"internal_routes"`)))
func internalListener(so httpapi.ServerOptions, o httpapi.InternalOptions, k apikeys.Options) fx.Option {
	if k.File == "" {
		return fx.Invoke(func(lc fx.Lifecycle, log *slog.Logger) {
			log.Info("internal listener off: no WXB_INTERNAL_KEYS_FILE (introspection and the other internal routes need API keys)")
			// A SIGHUP sent to reload keys must not stop a server that has
			// none (its default action ends the process).
			hup := make(chan os.Signal, 1)
			lc.Append(fx.StartStopHook(func() {
				signal.Notify(hup, syscall.SIGHUP)
				go func() {
					for range hup {
						log.Info("SIGHUP: no API keys file to reload")
					}
				}()
			}, func() { signal.Stop(hup); close(hup) }))
		})
	}
	so.Addr = o.Addr
	return fx.Module("internal",
		fx.Provide(
			func(log *slog.Logger) (*apikeys.Keys, error) { return apikeys.Open(k.File, log) },
			func(keys *apikeys.Keys) ports.APIKeys { return keys },
			func(p internalParams) InternalServer {
				var observe httpapi.InternalObserver
				if p.Metrics != nil {
					observe = p.Metrics.InternalRequests()
				}
				h := httpapi.NewInternalRouter(p.App, p.Keys, p.Log, observe, p.Routes...)
				return InternalServer{httpapi.NewServer(h, p.Log.With(slog.String("listener", "internal")), so)}
			},
		),
		fx.Invoke(func(lc fx.Lifecycle, s InternalServer, keys *apikeys.Keys, log *slog.Logger) {
			var (
				stop context.CancelFunc
				wg   sync.WaitGroup
			)
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error {
					if err := s.Start(context.Background()); err != nil {
						return err
					}
					if !config.IsLoopback(s.Addr()) {
						log.Warn("the internal listener serves " + s.Addr() + ", beyond loopback: keep it reachable by your services only, never from the internet")
					}
					var ctx context.Context
					ctx, stop = context.WithCancel(context.Background())
					reloadKeys(ctx, &wg, keys, log, k.ReloadInterval)
					return nil
				},
				OnStop: func(ctx context.Context) error {
					stop()
					wg.Wait()
					return s.Stop(ctx)
				},
			})
		}),
	)
}

type internalParams struct {
	fx.In
	App     *app.App
	Keys    ports.APIKeys
	Log     *slog.Logger
	Metrics *metrics.Metrics        `optional:"true"`
	Routes  []httpapi.InternalRoute `group:"internal_routes"`
}

// reloadKeys reloads keys on SIGHUP, and when the file changes (checked
// every interval; 0: never), until ctx ends.
func reloadKeys(ctx context.Context, wg *sync.WaitGroup, keys *apikeys.Keys, log *slog.Logger, interval time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the api keys")
				_ = keys.Reload() // logged; the keys in force stay
			}
		}
	}()
	if interval > 0 {
		t := time.NewTicker(interval)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer t.Stop()
			keys.Watch(ctx, t.C)
		}()
	}
}
