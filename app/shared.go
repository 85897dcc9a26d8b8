package app

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Helpers more than one use case needs.

// apps are the mini-programs served, by appid.
type apps struct {
	byID map[string]ports.WeChat
	only ports.WeChat // the one app, when there is one
}

// lookup returns the WeChat of the app a request names: appID, or with ""
// the one app served. Several apps and none named, or an app not served,
// is invalid input naming the parameter.
// Both errors carry a Detail naming the two ways to name an app and the
// apps served (appids are public: every request of an app carries its own).
func (a apps) lookup(appID string) (ports.WeChat, error) {
	if appID == "" {
		if a.only == nil {
			return nil, domain.WithDetail(domain.Missing("appid"), "this server serves several apps: name one "+a.howToName())
		}
		return a.only, nil
	}
	wc, ok := a.byID[appID]
	if !ok {
		return nil, domain.WithDetail(domain.Malformed("appid", "not an app this server serves"), "name an app this server serves "+a.howToName())
	}
	return wc, nil
}

// howToName tells how a request names its app, and which appids it may name.
func (a apps) howToName() string {
	return "with the Referer wx.request sends (https://servicewechat.com/<appid>/<version>/page-frame.html) " +
		"or an X-WX-AppID header; served: " + strings.Join(slices.Sorted(maps.Keys(a.byID)), ", ")
}

// presenter shows users as a client sees them.
type presenter struct {
	blobs ports.BlobStore // nil: no uploaded avatars
	log   *slog.Logger
}

// present returns u as a client sees it: the avatar the user uploaded, when
// there is one, in place of WeChat's.
func (p presenter) present(ctx context.Context, u domain.User) domain.User {
	shown := u.ShownAvatar() // the user's own view: a pending avatar too
	if shown == "" || p.blobs == nil {
		return u
	}
	url, err := p.blobs.URL(ctx, shown)
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "avatar URL", slog.String("error", err.Error()))
		return u
	}
	u.Profile.AvatarURL = url
	return u
}

// userWriter changes the user of a session.
type userWriter struct {
	users ports.UserRepo
}

// update changes the user of sess by update, as Users.UpdateUser does, for
// every use case but SaveUserInfo.
func (w userWriter) update(ctx context.Context, sess domain.Session, op string, update func(*domain.User) (bool, error)) (domain.User, error) {
	u, err := w.users.UpdateUser(ctx, sess.Identity(), update)
	if err != nil {
		return domain.User{}, userErr(err, op)
	}
	return u, nil
}

// userErr turns a vanished user (deleted from the database behind the
// sessions' back) into an invalid session: logging in again recreates the
// user.
func userErr(err error, op string) error {
	if domain.KindOf(err) == domain.KindNotFound {
		return domain.Wrap(domain.KindUnauthenticated, fmt.Errorf("%s: %w", op, err))
	}
	return fmt.Errorf("%s: %w", op, err)
}

// withSessionUnion is u with the session's unionid, when it has one: the
// login that learnt it recorded it.
func withSessionUnion(u domain.User, sess domain.Session) domain.User {
	if sess.UnionID != "" {
		u.UnionID = sess.UnionID
	}
	return u
}

// maxCodeLen bounds a login or phone code; WeChat's are 32 characters.
const maxCodeLen = 128

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
