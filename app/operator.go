package app

import (
	"context"
	"fmt"
	"strings"

	"wxbackend/domain"
	"wxbackend/ports"
)

// The use cases of an operator (wxbackend users …, sessions count): support
// questions and personal-data requests, answered without SQL.

// Operator runs an operator's commands.
type Operator struct {
	apps     apps
	users    ports.UserRepo
	sessions ports.SessionStore
	avatars  avatarBin
	show     presenter
}

// FindUsers finds users of an app by openid, phone number or unionid
// (which may name users of every app), for support.
func (s *Operator) FindUsers(ctx context.Context, appID, query string) ([]domain.User, error) {
	wc, err := s.apps.lookup(appID)
	if err != nil {
		return nil, err
	}
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, domain.Missing("openid, phone or unionid")
	}
	seen := map[domain.Identity]bool{}
	var ids []domain.Identity
	add := func(found []domain.Identity) {
		for _, id := range found {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	add([]domain.Identity{{AppID: wc.AppID(), OpenID: query}})
	byPhone, err := s.users.ByPhone(ctx, wc.AppID(), strings.TrimPrefix(query, "+86"))
	if err != nil {
		return nil, fmt.Errorf("find by phone: %w", err)
	}
	add(byPhone)
	byUnion, err := s.users.ByUnionID(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("find by unionid: %w", err)
	}
	add(byUnion)
	var out []domain.User
	for _, id := range ids {
		u, err := s.users.Get(ctx, id)
		if domain.KindOf(err) == domain.KindNotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get user: %w", err)
		}
		out = append(out, s.show.present(ctx, u))
	}
	return out, nil
}

// LogoutUser ends every session of a user, for an operator. A user that
// does not exist is not found (an openid mistyped, or of another app), and
// nothing is done.
func (s *Operator) LogoutUser(ctx context.Context, id domain.Identity) error {
	if _, err := s.users.Get(ctx, id); err != nil {
		return err
	}
	return s.endSessions(ctx, id)
}

// endSessions ends every session of id's user.
func (s *Operator) endSessions(ctx context.Context, id domain.Identity) error {
	if err := s.sessions.DeleteAll(ctx, id); err != nil {
		return fmt.Errorf("log out everywhere: %w", err)
	}
	return nil
}

// DeleteUser erases a user, as a personal-data deletion request needs: every
// session, the uploaded avatar, and the row. A user that does not exist is not found.
func (s *Operator) DeleteUser(ctx context.Context, id domain.Identity) error {
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.endSessions(ctx, id); err != nil {
		return err
	}
	if err := s.users.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if u.Avatar != "" && s.avatars.blobs != nil {
		s.avatars.release(ctx, u.Avatar, "erased")
	}
	return nil
}

// CountSessions returns about how many sessions are live.
func (s *Operator) CountSessions(ctx context.Context) (int, error) {
	return s.sessions.Count(ctx)
}
