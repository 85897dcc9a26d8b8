package wiring

import (
	"context"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"wxbackend/app"
)

// avatarCheckSweepEvery is how often the server looks for avatars whose
// check timed out: a minute late at most, against a 30-minute timeout.
const avatarCheckSweepEvery = time.Minute

// avatarCheckSweeper runs app.SweepAvatarChecks every minute for the
// server's lifetime, when some app has its avatars checked.
func avatarCheckSweeper() fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle, svc *app.App, log *slog.Logger) {
		if svc.SweepAvatarChecks == nil {
			return
		}
		runInBackground(lc, func(ctx context.Context) {
			tick := time.NewTicker(avatarCheckSweepEvery)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				run, cancel := context.WithTimeout(ctx, avatarCheckSweepEvery)
				n, err := svc.SweepAvatarChecks.Handle(run)
				cancel()
				switch {
				case err != nil && ctx.Err() != nil:
					return
				case err != nil:
					log.LogAttrs(ctx, slog.LevelWarn, "avatar check sweep failed", slog.Int("decided", n), slog.String("error", err.Error()))
				case n > 0:
					log.LogAttrs(ctx, slog.LevelInfo, "avatar checks timed out", slog.Int("decided", n))
				}
			}
		})
	})
}
