package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		name, peer, xff, want string
	}{
		{"direct client", "203.0.113.7:5000", "", "203.0.113.7"},
		{"direct client lying", "203.0.113.7:5000", "1.2.3.4", "203.0.113.7"},
		{"through our proxy", "10.0.0.2:5000", "198.51.100.9", "198.51.100.9"},
		{"client forging the chain", "10.0.0.2:5000", "1.2.3.4, 198.51.100.9", "198.51.100.9"},
		{"two proxies of ours", "10.0.0.2:5000", "198.51.100.9, 10.0.0.3", "198.51.100.9"},
		{"garbled chain", "10.0.0.2:5000", "not-an-ip", "10.0.0.2"},
		{"only proxies", "10.0.0.2:5000", "10.0.0.5", "10.0.0.5"},
		{"IPv4 in IPv6", "[::ffff:203.0.113.7]:5000", "", "203.0.113.7"},
		{"IPv6 proxy", "[::1]:5000", "2001:db8::1", "2001:db8::1"},
	} {
		r := httptest.NewRequest("POST", "/login/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientIP(r, trusted).String(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
