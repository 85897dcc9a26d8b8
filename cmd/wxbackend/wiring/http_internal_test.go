package wiring

import (
	"strings"
	"testing"
)

func TestProxyWarning(t *testing.T) {
	for _, c := range []struct {
		addr    string
		proxies []string
		warn    bool
	}{
		{"127.0.0.1:8080", nil, false},
		{"[::1]:8080", nil, false},
		{"0.0.0.0:8080", nil, true},
		{"[::]:8080", nil, true},
		{"10.1.2.3:8080", nil, true},
		{"0.0.0.0:8080", []string{"10.0.0.0/8"}, false},
	} {
		got := proxyWarning(c.addr, c.proxies)
		if (got != "") != c.warn || (c.warn && !strings.Contains(got, "WXB_HTTP_TRUSTED_PROXIES")) {
			t.Errorf("%s %v: %q", c.addr, c.proxies, got)
		}
	}
}
