package wiring

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/fx"

	"wxbackend/cmd/wxbackend/config"
)

// pprofListener serves net/http/pprof on its own loopback address, when one
// is configured.
func pprofListener(c config.Debug) fx.Option {
	if c.Addr == "" {
		return fx.Options()
	}
	return fx.Module("pprof",
		fx.Invoke(func(lc fx.Lifecycle, log *slog.Logger) { serveAside(lc, log, "pprof", c.Addr, pprofMux()) }),
	)
}

// serveAside serves h on addr, apart from the API, for the app's lifetime:
// it listens at start (so a busy address fails the start) and shuts down
// at stop.
func serveAside(lc fx.Lifecycle, log *slog.Logger, what, addr string, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			log.Info(what+" listening", slog.String("addr", ln.Addr().String()))
			go func() { _ = srv.Serve(ln) }()
			return nil
		},
		OnStop: srv.Shutdown,
	})
}

// pprofMux serves net/http/pprof's handlers, but not /debug/pprof/cmdline:
// a command line may hold secrets passed as flags.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
