package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"wxbackend/app"
	"wxbackend/domain"
)

// limitLogin applies the per-address login limit, before any work is done.
func (h *handler) limitLogin(r *http.Request) error {
	if h.opts.LoginLimiter == nil {
		return nil
	}
	ip := clientIP(r, h.proxies)
	ok, retry, err := h.opts.LoginLimiter.Allow(r.Context(), "ip:"+ip.String())
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
	return app.ClientOf(clientIP(r, h.proxies).String(), r.UserAgent())
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
