package app

// CheckSession tells a client how long its token lives and whether WeChat
// still holds the session's key (wxa/checksession), so that it knows to
// wx.login again before it sends encrypted data.

import (
	"context"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// CheckSession reports on sessions.
type CheckSession struct {
	wechat weChatAPI
	clock  ports.Clock
}

// SessionStatus is what GET /api/v1/session tells a client.
type SessionStatus struct {
	ExpiresIn time.Duration
	// WeChatValid tells whether WeChat still holds the session's key
	// (wxa/checksession); false means the client should wx.login again
	// before sending encrypted data.
	WeChatValid bool
}

// Handle reports the session's remaining life and whether WeChat still
// holds its session_key.
func (c *CheckSession) Handle(ctx context.Context, sess domain.Session) (SessionStatus, error) {
	var valid bool
	err := c.wechat.call(ctx, sess.AppID, func(wc ports.WeChat, t domain.AccessToken) error {
		var err error
		valid, err = wc.CheckSession(ctx, t, sess.OpenID, sess.SessionKey)
		return err
	})
	if err != nil {
		return SessionStatus{}, err
	}
	return SessionStatus{ExpiresIn: sess.ExpiresAt.Sub(c.clock.Now()).Truncate(time.Second), WeChatValid: valid}, nil
}
