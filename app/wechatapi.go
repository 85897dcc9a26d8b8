package app

import (
	"context"
	"log/slog"
	"time"

	"wxbackend/domain"
)

// PhoneInput is what a page sends from <button open-type="getPhoneNumber">:
// the code (today's way), or the encrypted number (the older way).
type PhoneInput struct {
	Code          string
	EncryptedData string
	IV            string
}

// SetPhone stores the phone number the user shared: a code is exchanged with
// WeChat (wxa/business/getuserphonenumber), encrypted data is opened with
// the session's key; either way the answer's watermark must name the app.
func (s *Service) SetPhone(ctx context.Context, appID, token string, in PhoneInput) (domain.User, error) {
	if in.Code == "" && in.EncryptedData == "" {
		return domain.User{}, domain.Missing("code")
	}
	if in.Code != "" && (len(in.Code) > maxCodeLen || !printableASCII(in.Code)) {
		return domain.User{}, domain.Malformed("code", "not a getPhoneNumber code")
	}
	if in.Code == "" && in.IV == "" {
		return domain.User{}, domain.Missing("iv")
	}
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	var info domain.PhoneInfo
	if in.Code != "" {
		err = s.withAccessToken(ctx, s.apps[sess.AppID], func(t domain.AccessToken) error {
			var err error
			info, err = s.apps[sess.AppID].PhoneNumber(ctx, t, in.Code)
			return err
		})
	} else {
		info, err = s.Decrypter.DecryptPhone(sess.SessionKey, in.EncryptedData, in.IV)
	}
	if err != nil {
		return domain.User{}, err
	}
	phone, err := domain.CheckPhone(sess, info, s.Clock.Now(), s.opts.WatermarkMaxAge)
	if err != nil {
		return domain.User{}, err
	}
	return s.updatePhone(ctx, sess, phone, "set phone")
}

// RemovePhone forgets the user's phone number.
func (s *Service) RemovePhone(ctx context.Context, appID, token string) (domain.User, error) {
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return domain.User{}, err
	}
	return s.updatePhone(ctx, sess, domain.Phone{}, "remove phone")
}

func (s *Service) updatePhone(ctx context.Context, sess domain.Session, phone domain.Phone, op string) (domain.User, error) {
	now := s.Clock.Now()
	u, err := s.updateUser(ctx, sess, op, func(u *domain.User) (bool, error) {
		if u.Phone == phone {
			return false, nil
		}
		u.Phone, u.UpdatedAt = phone, now
		return true, nil
	})
	if err != nil {
		return domain.User{}, err
	}
	return s.present(ctx, u), nil
}

// SessionStatus is what GET /api/v1/session tells a client.
type SessionStatus struct {
	ExpiresIn time.Duration
	// WeChatValid tells whether WeChat still holds the session's key
	// (wxa/checksession); false means the client should wx.login again
	// before sending encrypted data.
	WeChatValid bool
}

// SessionStatus reports the token's remaining life and whether WeChat still
// holds its session_key.
func (s *Service) SessionStatus(ctx context.Context, appID, token string) (SessionStatus, error) {
	sess, err := s.session(ctx, appID, token)
	if err != nil {
		return SessionStatus{}, err
	}
	var valid bool
	err = s.withAccessToken(ctx, s.apps[sess.AppID], func(t domain.AccessToken) error {
		var err error
		valid, err = s.apps[sess.AppID].CheckSession(ctx, t, sess.OpenID, sess.SessionKey)
		return err
	})
	if err != nil {
		return SessionStatus{}, err
	}
	return SessionStatus{ExpiresIn: sess.ExpiresAt.Sub(s.Clock.Now()).Truncate(time.Second), WeChatValid: valid}, nil
}

// checkNickName runs WeChat's content check on a nickname the user typed,
// when it is on: risky is refused (KindContentRejected), review is accepted
// and logged. When WeChat cannot answer, the configured policy decides.
func (s *Service) checkNickName(ctx context.Context, sess domain.Session, nick string) error {
	if !s.opts.ContentCheck {
		return nil
	}
	var verdict domain.Verdict
	err := s.withAccessToken(ctx, s.apps[sess.AppID], func(t domain.AccessToken) error {
		var err error
		verdict, err = s.apps[sess.AppID].CheckText(ctx, t, sess.OpenID, nick)
		return err
	})
	if err != nil {
		if s.opts.ContentCheckOnError == "accept" {
			s.Log.LogAttrs(ctx, slog.LevelWarn, "content check failed; nickname accepted by policy", slog.String("error", err.Error()))
			return nil
		}
		return err
	}
	switch verdict {
	case domain.VerdictRisky:
		return domain.Wrap(domain.KindContentRejected, errorString("WeChat's content check: risky"))
	case domain.VerdictReview:
		s.Log.LogAttrs(ctx, slog.LevelInfo, "nickname accepted pending review", slog.String("appid", sess.AppID), slog.String("openid", sess.OpenID))
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }
