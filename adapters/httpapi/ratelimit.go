package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"wxbackend/app"
	"wxbackend/domain"
)

// limitLogin applies the per-address login limit, before any work is done.
func (h *handler) limitLogin(r *http.Request) error {
	app, _ := appOf(r) // an invalid app is refused after the limit, by the login itself
	limiter := h.opts.LoginLimiter
	if l, ok := h.opts.AppLoginLimiters[app]; ok {
		limiter = l
	}
	if limiter == nil {
		return nil
	}
	ok, retry, err := limiter.Allow(r.Context(), "ip:"+app+":"+limitKey(h.clientAddr(r)))
	if err != nil {
		return fmt.Errorf("login rate limit: %w", err)
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
