package wiring

import (
	"io"
	"log/slog"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"wxbackend/cmd/wxbackend/config"
)

// logging provides the process's logger, which fx logs its own events to at
// debug level.
func logging(c config.Log, out io.Writer) fx.Option {
	return fx.Options(
		fx.Provide(func() *slog.Logger { return NewLogger(c, out) }),
		fx.WithLogger(func(log *slog.Logger) fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
	)
}

// NewLogger returns the process's logger.
func NewLogger(c config.Log, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // checked by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}
