package wiring

import (
	"context"
	"log/slog"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/metrics"
	"wxbackend/adapters/sqlstore"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
)

var _ app.MessageObserver = (*metrics.Messages)(nil)

// messages provides what subscribe messages need: the consent ledger and
// the outbox in the user database, the internal routes (scope messages),
// and the metrics' observer when metrics are on (else none). The worker
// is messageWorker's: the operator's commands share these modules and
// send nothing.
func messages() fx.Option {
	return fx.Module("messages",
		fx.Provide(
			fx.Annotate(func(st *sqlstore.Store) *sqlstore.Consents { return st.Consents }, fx.As(new(ports.Consents))),
			fx.Annotate(func(st *sqlstore.Store) *sqlstore.Outbox { return st.Outbox }, fx.As(new(ports.Outbox))),
			fx.Annotate(func(a *app.App, log *slog.Logger) []httpapi.InternalRoute { return httpapi.MessageRoutes(a, log) },
				fx.ResultTags(`group:"internal_routes,flatten"`)),
			func(p pushObserverParams) app.MessageObserver {
				if p.Metrics == nil {
					return nil
				}
				return p.Metrics.Messages()
			},
		),
	)
}

// messageWorker sends the outbox's messages for the server's lifetime, with
// the policy o; with metrics on, the age of the oldest message waiting is
// read at scrape time.
func messageWorker(o app.MessageOptions) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle, svc *app.App, outbox ports.Outbox, clock ports.Clock, log *slog.Logger, m pushObserverParams) error {
		if svc.Messages == nil {
			return nil
		}
		if m.Metrics != nil {
			m.Metrics.MessageBacklog(func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				at, ok, err := outbox.OldestPending(ctx)
				if err != nil || !ok {
					return 0
				}
				return clock.Now().Sub(at).Seconds()
			})
		}
		owner, err := workerName()
		if err != nil {
			return err
		}
		w, err := app.NewWorker[domain.Message](outbox, svc.Messages.Handle, clock, o.Policy(), owner,
			log.With(slog.String("worker", "messages")), nil)
		if err != nil {
			return err
		}
		runInBackground(lc, w.Run)
		return nil
	})
}
