package app

// EditProfile sets the profile fields the user filled in themselves (the
// nickname input, say) and records them as the user's own, so that a later
// WeChat payload does not overwrite them. Nicknames go through WeChat's
// content check when it is on.

import (
	"context"
	"log/slog"

	"wxbackend/domain"
	"wxbackend/ports"
)

// EditProfile edits profiles.
type EditProfile struct {
	writer          userWriter
	wechat          weChatAPI
	clock           ports.Clock
	log             *slog.Logger
	show            presenter
	contentCheck    bool
	acceptUnchecked bool // a nickname WeChat could not check is accepted
}

// Handle sets the fields of in that are set. It returns the user as stored.
func (e *EditProfile) Handle(ctx context.Context, sess domain.Session, in domain.ProfileInput) (domain.User, error) {
	edit, err := domain.NewProfileEdit(in)
	if err != nil {
		return domain.User{}, err
	}
	if nick, ok := edit.NickName(); ok {
		if err := e.checkNickName(ctx, sess, nick); err != nil {
			return domain.User{}, err
		}
	}
	now := e.clock.Now()
	u, err := e.writer.update(ctx, sess, "edit profile", func(u *domain.User) (bool, error) {
		if !u.ApplyUser(edit) {
			return false, nil
		}
		u.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return domain.User{}, err
	}
	return e.show.present(ctx, u), nil
}

// checkNickName runs WeChat's content check on a nickname the user typed,
// when it is on: risky is refused (KindContentRejected), review is accepted
// and logged. When WeChat cannot answer, the configured policy decides.
func (e *EditProfile) checkNickName(ctx context.Context, sess domain.Session, nick string) error {
	if !e.contentCheck {
		return nil
	}
	var verdict domain.Verdict
	err := e.wechat.call(ctx, sess.AppID, func(wc ports.WeChat, t domain.AccessToken) error {
		var err error
		verdict, err = wc.CheckText(ctx, t, sess.OpenID, nick)
		return err
	})
	if err != nil {
		if e.acceptUnchecked {
			e.log.LogAttrs(ctx, slog.LevelWarn, "content check failed; nickname accepted by policy", slog.String("error", err.Error()))
			return nil
		}
		return err
	}
	switch verdict {
	case domain.VerdictRisky:
		return domain.Wrap(domain.KindContentRejected, errorString("WeChat's content check: risky"))
	case domain.VerdictReview:
		e.log.LogAttrs(ctx, slog.LevelInfo, "nickname accepted pending review", slog.String("appid", sess.AppID), slog.String("openid", sess.OpenID))
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }
