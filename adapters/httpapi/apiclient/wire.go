// Package apiclient is wxbackend's HTTP API seen from the outside: the wire
// types the server writes (the HTTP adapter uses them too) and a small Go
// client of the routes. The simulated mini-program, the load generator and
// the tests speak to the server through it.
package apiclient

import (
	"encoding/json"
	"time"
)

// Envelope is every response body. Code and Status always hold the same
// number: the tutorial's clients read success from status and errors from
// code. The server writes Envelope[any]; a client reads Envelope[json.RawMessage].
type Envelope[T any] struct {
	Code   int    `json:"code"`
	Status int    `json:"status"`
	Msg    string `json:"msg"`
	Data   T      `json:"data"`
	// Detail, on some errors, tells the developer in English what the
	// request should have held (the app to name, say); Msg stays the
	// contract's text.
	Detail string `json:"detail,omitempty"`
}

// Raw is an envelope as a client reads it, its data still JSON.
type Raw = Envelope[json.RawMessage]

// Login is the data of a successful login. User is set on the v1 route only.
type Login struct {
	Token     string   `json:"token"`
	ExpiresIn int64    `json:"expires_in"` // seconds
	User      *Profile `json:"user,omitempty"`
}

// Profile is a user's profile with WeChat's own names.
type Profile struct {
	OpenID    string `json:"openId"`
	UnionID   string `json:"unionId"`
	NickName  string `json:"nickName"`
	AvatarURL string `json:"avatarUrl"`
	Gender    int    `json:"gender"`
	Language  string `json:"language"`
	City      string `json:"city"`
	Province  string `json:"province"`
	Country   string `json:"country"`
	// The phone number the user shared, "" for none.
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
	// LinkedAccounts are the user's accounts in the other apps this
	// server serves, by the unionid WeChat gave (GET /api/v1/me only).
	LinkedAccounts []Account `json:"linkedAccounts,omitempty"`
	// AvatarReview is where the last uploaded avatar stands in WeChat's
	// check, for an app that has avatars checked: "pending" (avatarUrl is
	// it, seen by its user only) or "rejected" (avatarUrl is the previous
	// one again); "" otherwise.
	AvatarReview string    `json:"avatarReview,omitempty"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// Account names a user of one app: never more than the appid and openid.
type Account struct {
	AppID  string `json:"appId"`
	OpenID string `json:"openId"`
}

// Session is the data of GET /api/v1/session.
type Session struct {
	ExpiresIn int64 `json:"expires_in"` // seconds
	// WeChatSessionValid tells whether WeChat still holds the session's
	// key; false: wx.login again before sending encrypted data.
	WeChatSessionValid bool `json:"wechat_session_valid"`
}

// ClassicProfile is what the tutorial-compatible /getinfo/ answers (the
// tutorial's save_data).
type ClassicProfile struct {
	Name     string `json:"name"`
	Avatar   string `json:"avatar"`
	Language string `json:"language"`
	Province string `json:"province"`
	Country  string `json:"country"`
	City     string `json:"city"`
}

// Status is the data of /healthz and /readyz.
type Status struct {
	Status string `json:"status"`
}
