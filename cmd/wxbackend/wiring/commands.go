package wiring

import (
	"context"
	"errors"
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

// ErrNotFound is what a command's error is when what it was asked about is
// not there (a user, an event): errors.Is(err, ErrNotFound). wxbackend
// exits with status 1 for it, and 2 for any other failure.
var ErrNotFound = errors.New("not found")

type notFoundError struct{ msg string }

func (e notFoundError) Error() string        { return e.msg }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

// notFoundf is an ErrNotFound saying what was not found.
func notFoundf(format string, a ...any) error {
	return notFoundError{fmt.Sprintf(format, a...)}
}
