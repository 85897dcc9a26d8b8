package app

// Logout ends the session a request was authenticated with, at once;
// LogoutEverywhere ends every session of its user, on every device.

import (
	"context"
	"fmt"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Logout ends sessions.
type Logout struct {
	sessions ports.SessionStore
}

// Handle ends the session of the token a.Token digests.
func (l *Logout) Handle(ctx context.Context, a Authenticated) error {
	if err := l.sessions.Delete(ctx, a.Token); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// LogoutEverywhere ends every session of a user.
type LogoutEverywhere struct {
	sessions ports.SessionStore
}

// Handle ends every session of the session's user.
func (l *LogoutEverywhere) Handle(ctx context.Context, sess domain.Session) error {
	if err := l.sessions.DeleteAll(ctx, sess.Identity()); err != nil {
		return fmt.Errorf("log out everywhere: %w", err)
	}
	return nil
}
