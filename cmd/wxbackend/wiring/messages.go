package wiring

import (
	"go.uber.org/fx"

	"wxbackend/adapters/sqlstore"
	"wxbackend/ports"
)

// messages provides what subscribe messages need: the consent ledger in
// the user database.
func messages() fx.Option {
	return fx.Module("messages",
		fx.Provide(
			fx.Annotate(func(st *sqlstore.Store) *sqlstore.Consents { return st.Consents }, fx.As(new(ports.Consents))),
		),
	)
}
