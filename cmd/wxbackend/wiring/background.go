package wiring

import (
	"context"
	"io"
	"time"

	"go.uber.org/fx"

	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
)

// runInBackground runs run in a goroutine for the app's lifetime: started
// with the app, its context cancelled at stop, and stop waits for it to
// return (or for stop's own deadline). Every background job of the server
// (the push worker, the avatar collector) is started this one way.
func runInBackground(lc fx.Lifecycle, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				run(ctx)
			}()
			return nil
		},
		OnStop: func(stop context.Context) error {
			cancel()
			select {
			case <-done:
				return nil
			case <-stop.Done():
				return stop.Err()
			}
		},
	})
}

// startStores builds and starts the server's stores and use cases from cfg
// for an operator's command, serving nothing, and returns them with the
// function that stops them. A command reads and changes what the server
// serves; it brings no schema of its own (wxbackend migrate does): pointed at
// an empty database by mistake, it fails rather than make one.
func startStores(cfg config.Config, logOut io.Writer) (*app.App, func(), error) {
	if logOut == nil {
		logOut = io.Discard
	}
	cfg.DB.Migrate = false
	var a *app.App
	graph := fx.New(stores(cfg, logOut), fx.Populate(&a), fx.NopLogger)
	if err := graph.Err(); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := graph.Start(ctx); err != nil {
		return nil, nil, err
	}
	return a, func() { _ = graph.Stop(context.Background()) }, nil
}
