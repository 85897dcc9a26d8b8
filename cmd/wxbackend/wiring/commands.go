package wiring

import (
	"context"
	"fmt"
	"io"
	"time"

	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/config"
)

// Migrate brings the user database's schema up to date, for wxbackend
// migrate (deployments that migrate as a step of their own).
func Migrate(cfg config.Config, out io.Writer) error {
	st, err := sqlstore.Open(cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s schema at version %d\n", cfg.DB.Driver, v)
	return nil
}
