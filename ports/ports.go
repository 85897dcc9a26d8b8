// Package ports declares what the core needs from the world. Adapters implement
// these interfaces; the app's use cases depend on nothing else.
package ports

import (
	"context"
	"time"

	"wxbackend/domain"
)

// SessionStore keeps sessions under the digest of their token.
//
// WeChat keeps one session key per user per app and replaces it at every
// wx.login, so a store keeps the key per user: Create makes s.SessionKey the key of
// every live session of s's user, and Get returns the newest key for any of them.
type SessionStore interface {
	// Create stores s under id until s.ExpiresAt.
	Create(ctx context.Context, id domain.TokenDigest, s domain.Session) error
	// Get returns the live session stored under id, with its user's newest key,
	// or an error of kind KindUnauthenticated when there is none (unknown,
	// expired or deleted).
	Get(ctx context.Context, id domain.TokenDigest) (domain.Session, error)
	// Delete removes the session stored under id; removing none is no error.
	Delete(ctx context.Context, id domain.TokenDigest) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// UserRepo stores users, one per (appid, openid).
type UserRepo interface {
	// EnsureUser returns the user of id, creating it at now if it does not
	// exist. Concurrent calls for one id create one user and all succeed. A
	// non-empty unionID is recorded when the stored one differs.
	EnsureUser(ctx context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error)
	// Get returns the user of id, or an error of kind KindNotFound.
	Get(ctx context.Context, id domain.Identity) (domain.User, error)
	// UpdateProfile replaces the profile of id's user and sets its update
	// time to now; it changes nothing else (the unionID comes from WeChat's
	// server-to-server answers only, through EnsureUser). It
	// fails with an error of kind KindNotFound when there is no such user. It
	// reads nothing back: one statement, and no answer that another update
	// of the same user could have changed in between.
	UpdateProfile(ctx context.Context, id domain.Identity, p domain.Profile, now time.Time) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}

// Decrypter opens WeChat's encrypted user data.
type Decrypter interface {
	// DecryptUserInfo takes encryptedData and iv as the base64 text the client
	// sent, decrypts them and parses the payload with domain.ParseUserInfo.
	// Text that is not base64, an iv that is not 16 bytes, or ciphertext that
	// is not a positive multiple of 16 bytes is KindInvalidInput; anything
	// wrong after decryption (padding, not JSON) is KindUndecryptable, with one
	// message whatever the reason.
	DecryptUserInfo(key domain.SessionKey, encryptedData, iv string) (domain.UserInfo, error)
}

// WeChatSession is what jscode2session returns for a login code.
type WeChatSession struct {
	OpenID     string
	UnionID    string
	SessionKey domain.SessionKey
}

// WeChat is the part of WeChat's server API the core uses.
type WeChat interface {
	// AppID is the app this backend logs users in to.
	AppID() string
	// Code2Session exchanges a wx.login code. A code WeChat rejects is
	// KindBadCode; WeChat's rate limit is KindRateLimited; anything else that
	// fails is KindUpstream.
	Code2Session(ctx context.Context, code string) (WeChatSession, error)
}

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// TokenSource makes new session tokens.
type TokenSource interface {
	NewToken() (domain.Token, error)
}

// RateLimiter admits at most a fixed number of events per key and period
// (its limit is the adapter's configuration), allowing bursts of that size.
type RateLimiter interface {
	// Allow records an event of key. When the key is over its limit it
	// returns false and how long until an event would be admitted.
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}
