package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Limits are the rate limits applied at the edge, both here: logins per
// client address and app, and requests per session. Over a limit is code 7.
type Limits struct {
	Login, Session ports.RateLimiter // nil: no limit
	// The limiters of apps with limits of their own, by appid; they
	// replace Login and Session for that app.
	AppLogin, AppSession map[string]ports.RateLimiter
}

// limitLogin applies the per-address login limit, before any work is done.
// It is keyed by the app the request resolves to, so that naming the one app
// served (X-WX-AppID) gives no second bucket; an app not served is refused
// here, as the login would refuse it.
func (h *handler) limitLogin(r *http.Request) error {
	named, err := appOf(r)
	if err != nil {
		return err
	}
	appID, err := h.app.AppID(named)
	if err != nil {
		return err
	}
	limiter := h.limits.Login
	if l, ok := h.limits.AppLogin[appID]; ok {
		limiter = l
	}
	if limiter == nil {
		return nil
	}
	ok, retry, err := limiter.Allow(r.Context(), "ip:"+appID+":"+limitKey(h.clientAddr(r)))
	if err != nil {
		return fmt.Errorf("login rate limit: %w", err)
	}
	if !ok {
		return domain.RateLimited(retry)
	}
	return nil
}

// limitSession applies the per-session limit to an authenticated request.
func (h *handler) limitSession(ctx context.Context, a app.Authenticated) error {
	limiter := h.limits.Session
	if l, ok := h.limits.AppSession[a.Session.AppID]; ok {
		limiter = l
	}
	if limiter == nil {
		return nil
	}
	// Keyed by part of the digest: the limiter's store holds no token.
	ok, retry, err := limiter.Allow(ctx, "s:"+base64.RawURLEncoding.EncodeToString(a.Token.Sum[:12]))
	if err != nil {
		return fmt.Errorf("session rate limit: %w", err)
	}
	if !ok {
		return domain.RateLimited(retry)
	}
	return nil
}

// client identifies the request's client for login replays: its address and
// its User-Agent.
func (h *handler) client(r *http.Request) app.ClientDigest {
	return app.ClientOf(h.clientAddr(r).String(), r.UserAgent())
}

// clientAddr is the request's client address (see clientIP). A request
// that carries X-Forwarded-For from a peer that is not a trusted proxy is
// logged once: behind a load balancer that is not configured, every client
// shares the balancer's address, and so its login limit.
func (h *handler) clientAddr(r *http.Request) netip.Addr {
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && !isTrusted(peer.Addr().Unmap(), h.proxies) {
			h.untrustedXFF.Do(func() {
				h.log.LogAttrs(r.Context(), slog.LevelWarn, "X-Forwarded-For from a peer that is not a trusted proxy is ignored; "+
					"behind a load balancer, set WXB_HTTP_TRUSTED_PROXIES to its addresses", slog.String("peer", peer.Addr().String()))
			})
		}
	}
	return clientIP(r, h.proxies)
}

// limitKey is the rate-limit key of a client address: an IPv4 address, or
// the /64 of an IPv6 one (one subscriber's prefix: a client could otherwise
// rotate through its 2^64 addresses).
func limitKey(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// clientIP is the connection's peer, or, when the peer is a trusted proxy, the
// nearest address in X-Forwarded-For that is not one (addresses a client
// wrote itself, further left, are not believed).
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := peer.Addr().Unmap()
	if !isTrusted(ip, trusted) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip // a garbled chain: stop at the last proxy we trust
		}
		hop = hop.Unmap()
		if !isTrusted(hop, trusted) {
			return hop
		}
		ip = hop
	}
	return ip
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
