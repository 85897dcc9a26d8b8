package app

// SaveUserInfo keeps the profile a client sends from wx.getUserInfo: the
// payload is decrypted with the session's key, its watermark and signature
// checked, and merged into the stored profile by domain.User.ApplyWeChat's
// rules (anonymous placeholders and fields the user filled in are kept).

import (
	"context"
	"log/slog"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// SaveUserInfo saves decrypted profiles.
type SaveUserInfo struct {
	decrypter       ports.Decrypter
	users           ports.UserRepo
	clock           ports.Clock
	log             *slog.Logger
	show            presenter
	watermarkMaxAge time.Duration
}

// EncryptedUserInfo is what a client sends from wx.getUserInfo.
type EncryptedUserInfo struct {
	EncryptedData string
	IV            string
	RawData       string // optional; checked against Signature when both are set
	Signature     string
}

// Handle decrypts the user's profile with the session's key, checks it, and
// merges it into the stored profile. Nothing is written unless every check
// passes and something changed. It returns the user as stored.
func (s *SaveUserInfo) Handle(ctx context.Context, sess domain.Session, in EncryptedUserInfo) (domain.User, error) {
	if in.EncryptedData == "" {
		return domain.User{}, domain.Missing("encryptedData")
	}
	if in.IV == "" {
		return domain.User{}, domain.Missing("iv")
	}
	info, err := s.decrypter.DecryptUserInfo(sess.SessionKey, in.EncryptedData, in.IV)
	if err != nil {
		return domain.User{}, err
	}
	now := s.clock.Now()
	if err := domain.CheckUserInfo(sess, info, now, s.watermarkMaxAge); err != nil {
		return domain.User{}, err
	}
	if in.RawData != "" && in.Signature != "" {
		if err := domain.VerifySignature(info, in.RawData, in.Signature, sess.SessionKey); err != nil {
			return domain.User{}, err
		}
	}
	// AES-CBC has no integrity: a user can alter their own payload, so every
	// decrypted field is theirs to choose. The unionId links accounts across
	// apps, so it is taken only from WeChat's server-to-server answer
	// (jscode2session, kept in the session); a payload that claims another is
	// ignored, and its value is not logged.
	if info.UnionID != "" && info.UnionID != sess.UnionID {
		s.log.LogAttrs(ctx, slog.LevelWarn, "payload unionId ignored: it differs from WeChat's",
			slog.String("appid", sess.AppID), slog.Bool("session_has_unionid", sess.UnionID != ""))
	}
	// Mini-programs send the same profile at every launch: ApplyWeChat
	// reports no change then, and nothing is written. (The closure holds
	// the profile itself, not the whole payload: one allocation, not two.)
	profile := info.Profile
	u, err := s.users.UpdateUser(ctx, sess.Identity(), func(u *domain.User) (bool, error) {
		if !u.ApplyWeChat(profile) {
			return false, nil
		}
		u.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return domain.User{}, userErr(err, "update profile")
	}
	return s.show.present(ctx, withSessionUnion(u, sess)), nil
}
