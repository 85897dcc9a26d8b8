package app

// Me answers the session's user as stored, with the accounts WeChat's
// unionid links to it in other apps.

import (
	"context"
	"fmt"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Me reads the session's user.
type Me struct {
	users  ports.UserRepo
	writer userWriter
	show   presenter
}

// Handle returns the session's user.
func (m *Me) Handle(ctx context.Context, sess domain.Session) (domain.User, error) {
	user, err := m.users.Get(ctx, sess.Identity())
	if err != nil {
		return domain.User{}, userErr(err, "get user")
	}
	if user.UnionID != "" {
		// Only server-to-server unionids are stored, so a link is WeChat's
		// word that these accounts are one person's.
		ids, err := m.users.ByUnionID(ctx, user.UnionID)
		if err != nil {
			return domain.User{}, fmt.Errorf("linked accounts: %w", err)
		}
		for _, id := range ids {
			if id != user.Identity() {
				user.Linked = append(user.Linked, id)
			}
		}
	}
	return m.show.present(ctx, user), nil
}
