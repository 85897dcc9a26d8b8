package app

// Ready tells whether every store answers, for a load balancer's readiness
// probe.

import (
	"context"
	"fmt"

	"wxbackend/ports"
)

// Ready checks the stores.
type Ready struct {
	sessions ports.SessionStore
	users    ports.UserRepo
}

// Handle returns nil when every store answers.
func (r *Ready) Handle(ctx context.Context) error {
	if err := r.sessions.Ping(ctx); err != nil {
		return fmt.Errorf("session store: %w", err)
	}
	if err := r.users.Ping(ctx); err != nil {
		return fmt.Errorf("user store: %w", err)
	}
	return nil
}
