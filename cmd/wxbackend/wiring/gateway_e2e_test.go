package wiring_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/config/setting"
	"wxbackend/internal/sim/echo"
)

// TestE2E_GatewayForwardsToTheEchoService: the server built from a gateway
// file forwards a logged-in user's request to the demo's echo service with
// the identity headers from the session (none a client claims), refuses a
// request without a token, serves the public path without identity, and
// counts each in its metrics by upstream and status.
func TestE2E_GatewayForwardsToTheEchoService(t *testing.T) {
	up := httptest.NewServer(echo.Handler())
	t.Cleanup(up.Close)
	file := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(file, []byte(`
[[upstream]]
name = "echo"
prefix = "/app/"
url = "`+up.URL+`"
strip_prefix = true
public = ["/app/hello"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr := wiringtest.FreeAddr(t)
	s := startServer(t, func(c *config.Config) {
		c.DB = sqliteDB(t)
		c.Metrics.Addr = metricsAddr
		c.Gateway.File = file
		if errs := setting.Check(&c.Gateway); len(errs) > 0 {
			t.Fatal(errs)
		}
	})
	token := s.login(t, "ada")

	// Answers under a gateway prefix are the upstream's, which the
	// contract's document does not describe: this client skips its check.
	direct := &http.Client{Transport: contract.Base}
	call := func(path string, header ...string) (int, echo.Answer) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header[header[i]] = []string{header[i+1]}
		}
		res, err := direct.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var a echo.Answer
		_ = json.NewDecoder(res.Body).Decode(&a)
		return res.StatusCode, a
	}
	status, a := call("/app/orders", "Authorization", "Bearer "+token, "X-WX-OPENID", "someone", "x_wx_unionid", "u-evil")
	if status != 200 || a.Service != echo.Name || a.Path != "/orders" {
		t.Fatalf("HTTP %d %+v", status, a)
	}
	openid := a.Identity["X-Wx-Openid"]
	if openid == "" || openid == "someone" || a.Identity["X-Wx-Appid"] != appID || a.Identity["X-Wx-Source"] != httpapi.SourceGateway ||
		a.Identity["X-Original-Forwarded-For"] != "127.0.0.1" || len(a.Identity) != 4 || a.Headers["Authorization"] != "" {
		t.Fatalf("the upstream got %+v, headers %v", a.Identity, a.Headers)
	}
	// The openid is the one the backend knows for ada.
	me, _ := http.NewRequestWithContext(t.Context(), "GET", s.base+"/api/v1/me", nil)
	me.Header.Set("Authorization", "Bearer "+token)
	e, _ := s.send(t, me)
	if !strings.Contains(string(e.Data), openid) {
		t.Fatalf("/api/v1/me %s, the upstream got openid %q", e.Data, openid)
	}
	if status, _ := call("/app/orders"); status != 401 {
		t.Fatalf("no token: HTTP %d", status)
	}
	if status, a := call("/app/hello", "X-WX-OPENID", "someone"); status != 200 || len(a.Identity) != 0 {
		t.Fatalf("public path: HTTP %d %+v", status, a.Identity)
	}
	after := scrape(t, metricsAddr)
	for status, want := range map[string]float64{"200": 2, "401": 1} {
		if got := value(after, "wxb_gateway_requests_total", "upstream", "echo", "status", status); got != want {
			t.Fatalf("wxb_gateway_requests_total{status=%s} = %v, want %v", status, got, want)
		}
	}
}
