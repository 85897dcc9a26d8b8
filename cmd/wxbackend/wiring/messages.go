package wiring

import (
	"log/slog"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/sqlstore"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
)

// messages provides what subscribe messages need: the consent ledger and
// the outbox in the user database, the internal routes (scope messages),
// and the outbox's worker for the server's lifetime.
func messages(o app.PushOptions) fx.Option {
	return fx.Module("messages",
		fx.Provide(
			fx.Annotate(func(st *sqlstore.Store) *sqlstore.Consents { return st.Consents }, fx.As(new(ports.Consents))),
			fx.Annotate(func(st *sqlstore.Store) *sqlstore.Outbox { return st.Outbox }, fx.As(new(ports.Outbox))),
			fx.Annotate(func(a *app.App, log *slog.Logger) []httpapi.InternalRoute { return httpapi.MessageRoutes(a, log) },
				fx.ResultTags(`group:"internal_routes,flatten"`)),
		),
		fx.Invoke(func(lc fx.Lifecycle, svc *app.App, outbox ports.Outbox, clock ports.Clock, log *slog.Logger) error {
			if svc.Messages == nil {
				return nil
			}
			owner, err := workerName()
			if err != nil {
				return err
			}
			// The push worker's policy (batch, lease, attempts, backoff)
			// serves the outbox too until it needs settings of its own.
			w, err := app.NewWorker[domain.Message](outbox, svc.Messages.Handle, clock, o.Policy(), owner,
				log.With(slog.String("worker", "messages")), nil)
			if err != nil {
				return err
			}
			runInBackground(lc, w.Run)
			return nil
		}),
	)
}
