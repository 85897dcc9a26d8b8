package memory

import (
	"context"
	"crypto/sha256"
	"time"

	gocache "github.com/patrickmn/go-cache"

	"wxbackend/domain"
	"wxbackend/ports"
)

var _ ports.WeChat = (*SessionChecks)(nil)

// SessionChecks is a ports.WeChat that remembers WeChat's answers to
// wxa/checksession for a while, in this process: GET /api/v1/session asks
// it on every request, and WeChat's quota for it is the app's, shared by
// every user. Everything else goes to the WeChat it decorates.
//
// An answer is kept per app, openid and session key (by a digest: no key is
// held), so a new login, with its new key, is checked afresh. Failures are
// not kept. Each server keeps its own answers: with N servers a session is
// checked at most N times per period, which bounds the calls as well as a
// shared cache would, without a store round trip for each.
type SessionChecks struct {
	ports.WeChat
	ttl     time.Duration
	clock   ports.Clock
	answers *gocache.Cache // checkKey → checkAnswer
}

type checkKey [sha256.Size]byte

type checkAnswer struct {
	valid bool
	until time.Time // on the clock
}

// NewSessionChecks decorates wc so that its answer to CheckSession for a
// session key is reused for ttl on clock; with ttl ≤ 0 it returns wc.
func NewSessionChecks(wc ports.WeChat, ttl time.Duration, clock ports.Clock) ports.WeChat {
	if ttl <= 0 {
		return wc
	}
	// Entries also leave the map on the wall clock, so that it holds no
	// more than the sessions checked in the last ttl.
	return &SessionChecks{WeChat: wc, ttl: ttl, clock: clock, answers: gocache.New(ttl, ttl)}
}

// CheckSession implements ports.WeChat: WeChat's last answer for the
// session key, when it is younger than the TTL, or WeChat's answer now.
func (c *SessionChecks) CheckSession(ctx context.Context, t domain.AccessToken, openID string, key domain.SessionKey) (bool, error) {
	k := c.key(openID, key)
	now := c.clock.Now()
	if v, ok := c.answers.Get(string(k[:])); ok {
		if a := v.(checkAnswer); now.Before(a.until) {
			return a.valid, nil
		}
	}
	valid, err := c.WeChat.CheckSession(ctx, t, openID, key)
	if err != nil {
		return false, err
	}
	c.answers.SetDefault(string(k[:]), checkAnswer{valid: valid, until: now.Add(c.ttl)})
	return valid, nil
}

// key identifies a session key of a user of the app, without holding it.
func (c *SessionChecks) key(openID string, key domain.SessionKey) checkKey {
	h := sha256.New()
	h.Write([]byte(c.WeChat.AppID()))
	h.Write([]byte{0})
	h.Write([]byte(openID))
	h.Write([]byte{0})
	h.Write(key.Bytes())
	var k checkKey
	h.Sum(k[:0])
	return k
}
