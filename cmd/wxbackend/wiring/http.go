package wiring

import (
	"context"
	"log/slog"
	"net/http"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/ports"
)

// OnServing is called with the server's address once it listens. Modules
// provide them in the "serving" group.
type OnServing func(addr string)

// httpServer provides the router and the server, and runs the server for the
// app's lifetime. It listens after everything it serves has started (fx
// starts dependencies first), then calls every OnServing.
func httpServer(so httpapi.ServerOptions, o httpapi.Options, serveAvatars bool) fx.Option {
	o.ServeAvatars = serveAvatars
	return fx.Module("http",
		fx.Provide(
			func(p routerParams) (*httpapi.Server, error) {
				o := o
				o.Upstreams, o.ObserveGateway = p.Config.Gateway.Upstreams(), p.ObserveGateway
				h, err := httpapi.NewRouter(p.App, p.Log, o, p.Clock, p.Limits.Limits, httpapi.Observer(p.Observe))
				if err != nil {
					return nil, err
				}
				if scope := p.Scope; scope != nil {
					inner := h
					h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						inner.ServeHTTP(w, r.WithContext(scope(r.Context())))
					})
				}
				return httpapi.NewServer(h, p.Log, so), nil
			},
		),
		fx.Invoke(fx.Annotate(
			func(lc fx.Lifecycle, s *httpapi.Server, log *slog.Logger, serving []OnServing) {
				lc.Append(fx.Hook{
					OnStart: func(ctx context.Context) error {
						if err := s.Start(ctx); err != nil {
							return err
						}
						if warning := proxyWarning(s.Addr(), o.TrustedProxies); warning != "" {
							log.Warn(warning)
						}
						for _, f := range serving {
							f(s.Addr())
						}
						return nil
					},
					OnStop: s.Stop,
				})
			},
			fx.ParamTags(``, ``, ``, `group:"serving"`))),
	)
}

type routerParams struct {
	fx.In
	App     *app.App
	Log     *slog.Logger
	Clock   ports.Clock
	Limits  Limiters
	Observe RequestObserver `optional:"true"`
	Scope   RequestScope    `optional:"true"`
	// The built-in gateway's upstreams, and its observer with metrics.
	Config         config.Config
	ObserveGateway httpapi.GatewayObserver `optional:"true"`
}

// proxyWarning is what to tell an operator serving a network with no trusted
// proxies: behind a load balancer, every client would then share the
// balancer's address, and its login limit.
func proxyWarning(addr string, trusted []string) string {
	if config.IsLoopback(addr) || len(trusted) > 0 {
		return ""
	}
	return "serving " + addr + " with no trusted proxies: behind a load balancer, every client shares its address " +
		"(and its login rate limit); set WXB_HTTP_TRUSTED_PROXIES to the balancer's addresses"
}
