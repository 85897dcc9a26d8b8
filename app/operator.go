package app

import (
	"context"
	"fmt"
	"strings"

	"wxbackend/domain"
)

// The use cases of an operator (wxbackend users …, sessions count): support
// questions and personal-data requests, answered without SQL.

// FindUsers finds users of an app by openid, phone number or unionid
// (which may name users of every app), for support.
func (s *Service) FindUsers(ctx context.Context, appID, query string) ([]domain.User, error) {
	wc, err := s.app(appID)
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
	byPhone, err := s.Users.ByPhone(ctx, wc.AppID(), strings.TrimPrefix(query, "+86"))
	if err != nil {
		return nil, fmt.Errorf("find by phone: %w", err)
	}
	add(byPhone)
	byUnion, err := s.Users.ByUnionID(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("find by unionid: %w", err)
	}
	add(byUnion)
	var out []domain.User
	for _, id := range ids {
		u, err := s.Users.Get(ctx, id)
		if domain.KindOf(err) == domain.KindNotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get user: %w", err)
		}
		out = append(out, s.present(ctx, u))
	}
	return out, nil
}

// LogoutUser ends every session of a user, for an operator.
func (s *Service) LogoutUser(ctx context.Context, id domain.Identity) error {
	if err := s.Sessions.DeleteAll(ctx, id); err != nil {
		return fmt.Errorf("log out everywhere: %w", err)
	}
	return nil
}

// DeleteUser erases a user, as a personal-data deletion request needs: every
// session, the uploaded avatar (unless another user has the same image), and
// the row. A user that does not exist is not found.
func (s *Service) DeleteUser(ctx context.Context, id domain.Identity) error {
	u, err := s.Users.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.LogoutUser(ctx, id); err != nil {
		return err
	}
	if err := s.Users.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if u.Avatar != "" && s.Blobs != nil {
		s.dropAvatar(ctx, u.Avatar)
	}
	return nil
}

// CountSessions returns about how many sessions are live.
func (s *Service) CountSessions(ctx context.Context) (int, error) {
	return s.Sessions.Count(ctx)
}
