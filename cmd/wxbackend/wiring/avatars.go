package wiring

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/imaging"
	"wxbackend/adapters/localfs"
	"wxbackend/adapters/s3blob"
	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/ports"
)

// avatarStore provides the image processor and the blob store avatars are
// kept in: a local directory (served by this server) or S3-compatible
// object storage.
func avatarStore(a config.Avatars, img imaging.Options, disk localfs.Options, s3 s3blob.Options) fx.Option {
	processor := fx.Provide(fx.Annotate(func() *imaging.Processor { return imaging.New(img) }, fx.As(new(ports.ImageProcessor))))
	if a.Store == "s3" {
		return fx.Module("s3blob", processor,
			fx.Provide(fx.Annotate(func() (*s3blob.Blobs, error) { return s3blob.New(s3) }, fx.As(new(ports.BlobStore)))))
	}
	// "local"; the configuration admits nothing else.
	return fx.Module("localfs", processor,
		fx.Provide(fx.Annotate(func() (*localfs.Blobs, error) { return localfs.New(disk) }, fx.As(new(ports.BlobStore)))))
}

// avatarCollector runs app.CollectAvatars every a.CollectInterval, for the
// server's lifetime (none when the interval is 0). The first run is one
// interval after the start, so that servers restarted often do not list the
// whole store each time. Several servers collecting at once is harmless
// (see app/collectavatars.go); each run is bounded by the interval, so a
// hung store cannot pile runs up.
func avatarCollector(a config.Avatars) fx.Option {
	if a.CollectInterval <= 0 {
		return fx.Options()
	}
	return fx.Invoke(func(lc fx.Lifecycle, svc *app.App, log *slog.Logger) {
		runInBackground(lc, func(ctx context.Context) { collectAvatars(ctx, svc.CollectAvatars, a, log) })
	})
}

// collectAvatars collects every a.CollectInterval until ctx ends.
func collectAvatars(ctx context.Context, c *app.CollectAvatars, a config.Avatars, log *slog.Logger) {
	tick := time.NewTicker(a.CollectInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		run, cancel := context.WithTimeout(ctx, a.CollectInterval)
		res, err := c.Handle(run, app.CollectOptions{Grace: a.CollectGrace})
		cancel()
		attrs := []slog.Attr{slog.Int("listed", res.Listed), slog.Int("old", res.Old), slog.Int("deleted", res.Deleted), slog.Int("failed", res.Failed)}
		switch {
		case err != nil && ctx.Err() != nil:
			return // stopping
		case errors.Is(err, app.ErrMostAvatarsUnused):
			// A server pointed at the wrong user database: say it loudly,
			// every interval, and delete nothing.
			log.LogAttrs(ctx, slog.LevelError, "avatar collection refused", append(attrs, slog.Int("unused", res.Unused), slog.String("error", err.Error()))...)
		case err != nil:
			log.LogAttrs(ctx, slog.LevelWarn, "avatar collection failed", append(attrs, slog.String("error", err.Error()))...)
		case res.Deleted > 0:
			log.LogAttrs(ctx, slog.LevelInfo, "unused avatars deleted", attrs...)
		default:
			log.LogAttrs(ctx, slog.LevelDebug, "avatars collected", attrs...)
		}
	}
}
