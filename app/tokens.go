package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/singleflight"

	"wxbackend/domain"
	"wxbackend/ports"
)

// accessTokens keeps the app's WeChat access token: one fetch per expiry
// whatever the number of servers, none per request.
//
//   - The token lives in the TokenCache (in process, or Redis for N servers)
//     with its expiry and a refresh time at a jittered 70-90% of its life.
//   - A request finds it there. Once its refresh time has passed, one caller
//     per process (singleflight) takes the cache's lock (one per cluster) and
//     fetches the next with stable_token in normal mode, which WeChat answers
//     with the token in force while it is valid: no server invalidates
//     another's. Callers that find the lock taken keep using the current
//     token while it has not expired, or wait briefly for the new one.
//   - WeChat down at refresh time: the current token serves until it expires.
//   - An API call answered "invalid token" (40001, 40014, 42001) drops that
//     token and fetches anew, then retries once. When normal mode hands back
//     the very token just rejected, only a forced refresh helps: that is done,
//     at most ForceRefreshPerDay times a day per app (WeChat caps it).
type accessTokens struct {
	cache       ports.TokenCache
	clock       ports.Clock
	log         *slog.Logger
	forcePerDay int
	group       singleflight.Group
}

const (
	// tokenLockTTL bounds how long a server may hold the refresh lock: a
	// server that dies holding it delays the others by this much at most.
	tokenLockTTL = 10 * time.Second
	// tokenWait is how long a caller without a usable token waits for
	// another server's refresh before giving up (code 8), on the clock.
	tokenWait = 3 * time.Second
	// tokenPoll is how often it looks: a pace, in real time, not a
	// deadline (the clock port has no timers).
	tokenPoll = 25 * time.Millisecond
)

var errNoTokenCache = domain.Wrap(domain.KindInternal, errors.New("no access token cache is configured"))

// get returns a token to call the API with.
func (m *accessTokens) get(ctx context.Context, wc ports.WeChat) (domain.AccessToken, error) {
	if m.cache == nil {
		return domain.AccessToken{}, errNoTokenCache
	}
	c, ok, err := m.cache.Get(ctx, wc.AppID())
	if err != nil {
		return domain.AccessToken{}, fmt.Errorf("read access token: %w", err)
	}
	if ok && c.Fresh(m.clock.Now()) {
		return c.Token, nil
	}
	return m.fetchOnce(ctx, wc, domain.AccessToken{}, false)
}

// refresh replaces a token WeChat rejected.
func (m *accessTokens) refresh(ctx context.Context, wc ports.WeChat, rejected domain.AccessToken) (domain.AccessToken, error) {
	if err := m.cache.Drop(ctx, wc.AppID(), rejected); err != nil {
		return domain.AccessToken{}, fmt.Errorf("drop access token: %w", err)
	}
	tok, err := m.fetchOnce(ctx, wc, rejected, false)
	if err != nil || tok != rejected {
		return tok, err
	}
	// WeChat's normal mode still answers the token its own API rejects.
	day := m.clock.Now().In(chinaTime).Format("20060102")
	n, err := m.cache.CountForceRefresh(ctx, wc.AppID(), day)
	if err != nil {
		return domain.AccessToken{}, fmt.Errorf("count forced refreshes: %w", err)
	}
	if n > m.forcePerDay {
		return domain.AccessToken{}, domain.Wrap(domain.KindUpstream,
			fmt.Errorf("access token rejected, and the %d forced refreshes a day are used up", m.forcePerDay))
	}
	m.log.LogAttrs(ctx, slog.LevelWarn, "forcing an access token refresh", slog.String("appid", wc.AppID()), slog.Int("today", n))
	return m.fetchOnce(ctx, wc, rejected, true)
}

// chinaTime is the day WeChat's daily quotas count in.
var chinaTime = time.FixedZone("CST", 8*3600)

// fetchOnce fetches a token, one caller per process at a time: the others
// share its answer.
func (m *accessTokens) fetchOnce(ctx context.Context, wc ports.WeChat, rejected domain.AccessToken, force bool) (domain.AccessToken, error) {
	key := fmt.Sprintf("%s|%v", wc.AppID(), force)
	shared := context.WithoutCancel(ctx) // one caller going away must not fail the others
	v, err, _ := m.group.Do(key, func() (any, error) { return m.fetch(shared, wc, rejected, force) })
	if err != nil {
		return domain.AccessToken{}, err
	}
	return v.(domain.AccessToken), nil
}

// fetch takes the cluster's refresh lock and fetches a token, unless
// another server has just done so.
func (m *accessTokens) fetch(ctx context.Context, wc ports.WeChat, rejected domain.AccessToken, force bool) (domain.AccessToken, error) {
	appID := wc.AppID()
	usable := func(c domain.CachedToken, ok bool) bool {
		return ok && c.Usable(m.clock.Now()) && c.Token != rejected
	}
	for deadline := m.clock.Now().Add(tokenWait); ; {
		unlock, locked, err := m.cache.Lock(ctx, appID, tokenLockTTL)
		if err != nil {
			return domain.AccessToken{}, fmt.Errorf("access token lock: %w", err)
		}
		c, ok, err := m.cache.Get(ctx, appID)
		if err != nil {
			if locked {
				unlock()
			}
			return domain.AccessToken{}, fmt.Errorf("read access token: %w", err)
		}
		if locked {
			defer unlock()
			if ok && c.Fresh(m.clock.Now()) && c.Token != rejected {
				return c.Token, nil // another server refreshed while we waited for the lock
			}
			return m.fetchLocked(ctx, wc, c, usable(c, ok), force)
		}
		// Another server is refreshing: the current token serves meanwhile.
		if usable(c, ok) {
			return c.Token, nil
		}
		if m.clock.Now().After(deadline) {
			return domain.AccessToken{}, domain.Wrap(domain.KindUpstream, errors.New("no access token: another server's refresh did not finish"))
		}
		select {
		case <-ctx.Done():
			return domain.AccessToken{}, domain.Wrap(domain.KindUpstreamTimeout, ctx.Err())
		case <-time.After(tokenPoll):
		}
	}
}

// fetchLocked calls WeChat, holding the lock, and caches the answer.
func (m *accessTokens) fetchLocked(ctx context.Context, wc ports.WeChat, current domain.CachedToken, currentUsable, force bool) (domain.AccessToken, error) {
	appID := wc.AppID()
	tok, life, err := wc.StableToken(ctx, force)
	if err != nil {
		if currentUsable {
			m.log.LogAttrs(ctx, slog.LevelWarn, "access token refresh failed; the current one serves until it expires",
				slog.String("appid", appID), slog.Time("expires_at", current.ExpiresAt), slog.String("error", err.Error()))
			return current.Token, nil
		}
		return domain.AccessToken{}, fmt.Errorf("fetch access token: %w", err)
	}
	now := m.clock.Now()
	c := domain.CachedToken{
		Token:     tok,
		ExpiresAt: now.Add(life),
		RefreshAt: now.Add(time.Duration(float64(life) * (0.7 + 0.2*rand.Float64()))),
	}
	if err := m.cache.Put(ctx, appID, c); err != nil {
		return domain.AccessToken{}, fmt.Errorf("cache access token: %w", err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "access token fetched", slog.String("appid", appID),
		slog.Bool("forced", force), slog.Duration("expires_in", life))
	return tok, nil
}
