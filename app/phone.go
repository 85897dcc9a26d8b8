package app

// SetPhone stores the phone number a user shared with
// <button open-type="getPhoneNumber">: a code is exchanged with WeChat
// (wxa/business/getuserphonenumber), encrypted data (the older form) is
// opened with the session's key; either way the answer's watermark must name
// the app. RemovePhone forgets it.

import (
	"context"

	"wxbackend/domain"
	"wxbackend/ports"
)

// SetPhone sets phone numbers.
type SetPhone struct {
	decrypter ports.Decrypter
	wechat    weChatAPI
	phones    phoneWriter
}

// PhoneInput is what a page sends from <button open-type="getPhoneNumber">:
// the code (today's way), or the encrypted number (the older way).
type PhoneInput struct {
	Code          string
	EncryptedData string
	IV            string
}

// Handle stores the number in, for the session's user.
func (s *SetPhone) Handle(ctx context.Context, sess domain.Session, in PhoneInput) (domain.User, error) {
	if in.Code == "" && in.EncryptedData == "" {
		return domain.User{}, domain.Missing("code")
	}
	if in.Code != "" && (len(in.Code) > maxCodeLen || !printableASCII(in.Code)) {
		return domain.User{}, domain.Malformed("code", "not a getPhoneNumber code")
	}
	if in.Code == "" && in.IV == "" {
		return domain.User{}, domain.Missing("iv")
	}
	var info domain.PhoneInfo
	var err error
	if in.Code != "" {
		err = s.wechat.call(ctx, sess.AppID, func(wc ports.WeChat, t domain.AccessToken) error {
			var err error
			info, err = wc.PhoneNumber(ctx, t, in.Code)
			return err
		})
	} else {
		info, err = s.decrypter.DecryptPhone(sess.SessionKey, in.EncryptedData, in.IV)
	}
	if err != nil {
		return domain.User{}, err
	}
	phone, err := domain.CheckPhone(sess, info)
	if err != nil {
		return domain.User{}, err
	}
	return s.phones.set(ctx, sess, phone, "set phone")
}

// RemovePhone forgets phone numbers.
type RemovePhone struct {
	phones phoneWriter
}

// Handle forgets the session's user's phone number.
func (r *RemovePhone) Handle(ctx context.Context, sess domain.Session) (domain.User, error) {
	return r.phones.set(ctx, sess, domain.Phone{}, "remove phone")
}

// phoneWriter records a user's phone number.
type phoneWriter struct {
	writer userWriter
	clock  ports.Clock
	show   presenter
}

func (p phoneWriter) set(ctx context.Context, sess domain.Session, phone domain.Phone, op string) (domain.User, error) {
	now := p.clock.Now()
	u, err := p.writer.update(ctx, sess, op, func(u *domain.User) (bool, error) {
		if u.Phone == phone {
			return false, nil
		}
		u.Phone, u.UpdatedAt = phone, now
		return true, nil
	})
	if err != nil {
		return domain.User{}, err
	}
	return p.show.present(ctx, u), nil
}
