package wiring

import (
	"io"
	"log/slog"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"wxbackend/cmd/wxbackend/config"
)

// logging provides the process's logger, which fx logs its own events to at
// debug level. A failed start is the caller's to report, in one line
// (wxbackend's main): fx's own account of it (each failed hook, the
// rollback, a constructor's dependency chain) is logged only with
// WXB_DEBUG.
func logging(c config.Log, out io.Writer) fx.Option {
	return fx.Options(
		fx.Provide(func() *slog.Logger { return NewLogger(c, out) }),
		fx.WithLogger(func(log *slog.Logger) fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log}
			l.UseLogLevel(slog.LevelDebug)
			if c.Debug {
				return l
			}
			return quietStart{l}
		}),
	)
}

// quietStart drops fx's events about a failed start; the rest, a failed
// stop included, go to next.
type quietStart struct{ next fxevent.Logger }

func (q quietStart) LogEvent(e fxevent.Event) {
	failed := false
	switch e := e.(type) {
	case *fxevent.Provided:
		failed = e.Err != nil
	case *fxevent.Supplied:
		failed = e.Err != nil
	case *fxevent.Decorated:
		failed = e.Err != nil
	case *fxevent.Replaced:
		failed = e.Err != nil
	case *fxevent.Invoked:
		failed = e.Err != nil
	case *fxevent.Run:
		failed = e.Err != nil
	case *fxevent.OnStartExecuted:
		failed = e.Err != nil
	case *fxevent.Started:
		failed = e.Err != nil
	case *fxevent.RollingBack, *fxevent.RolledBack:
		failed = true
	}
	if !failed {
		q.next.LogEvent(e)
	}
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
