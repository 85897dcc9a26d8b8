package httpapi_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/httpapi"
	"wxbackend/config/setting"
)

// gatewayFile writes a gateway file and returns its options, checked.
func gatewayFile(t *testing.T, toml string) (httpapi.GatewayOptions, []error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	o := httpapi.GatewayOptions{File: path}
	errs := setting.Check(&o)
	return o, errs
}

func TestGatewayFile_DefaultsFillWhatIsLeftOut(t *testing.T) {
	o, errs := gatewayFile(t, `
[[upstream]]
name = "shop"
prefix = "/app/"
url = "http://127.0.0.1:9000"
strip_prefix = true
public = ["/app/health"]

[[upstream]]
name = "files"
prefix = "/files/"
url = "https://files.internal/base"
timeout = "5s"
stream_timeout = "1h"
max_body = 1048576
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ups := o.Upstreams()
	if len(ups) != 2 || ups[0].Timeout.Duration != 30*time.Second || ups[0].StreamTimeout.Duration != 10*time.Minute ||
		ups[0].MaxBody != 10<<20 || !ups[0].StripPrefix || ups[1].Timeout.Duration != 5*time.Second ||
		ups[1].StreamTimeout.Duration != time.Hour || ups[1].MaxBody != 1<<20 {
		t.Fatalf("%+v", ups)
	}
}

// Every mistake is named by the setting, the upstream and its key, and all
// of them at once.
func TestGatewayFile_ProblemsNameTheUpstreamAndKey(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"shadows the API", `[[upstream]]
name = "a"
prefix = "/api/"
url = "http://127.0.0.1:1"`, `upstream[1].prefix: "/api/" shadows the contract's /api/`},
		{"shadows everything", `[[upstream]]
name = "a"
prefix = "/"
url = "http://127.0.0.1:1"`, `upstream[1].prefix: "/" is not a path like /app/`},
		{"shadows login", `[[upstream]]
name = "a"
prefix = "/login/"
url = "http://127.0.0.1:1"`, `shadows the contract's /login`},
		{"under the push route", `[[upstream]]
name = "a"
prefix = "/wechat/x/"
url = "http://127.0.0.1:1"`, `shadows the contract's /wechat/`},
		{"no trailing slash", `[[upstream]]
name = "a"
prefix = "/app"
url = "http://127.0.0.1:1"`, `upstream[1].prefix: "/app" is not a path like /app/`},
		{"not clean", `[[upstream]]
name = "a"
prefix = "/app/../x/"
url = "http://127.0.0.1:1"`, `is not a path like /app/`},
		{"bad url", `[[upstream]]
name = "a"
prefix = "/app/"
url = "ftp://x"`, `upstream[1].url: "ftp://x" is not an http(s) URL`},
		{"credentials in the url", `[[upstream]]
name = "a"
prefix = "/app/"
url = "http://me:pw@x"`, `upstream[1].url:`},
		{"public outside", `[[upstream]]
name = "a"
prefix = "/app/"
url = "http://x"
public = ["/other/health"]`, `upstream[1].public: "/other/health" is not a clean path under the prefix "/app/"`},
		{"timeouts", `[[upstream]]
name = "a"
prefix = "/app/"
url = "http://x"
timeout = "1m"
stream_timeout = "10s"`, `upstream[1].stream_timeout: must be at least the timeout (1m0s)`},
		{"bad duration", `[[upstream]]
name = "a"
prefix = "/app/"
url = "http://x"
timeout = "soon"`, `timeout`},
		{"unknown key", `[[upstream]]
name = "a"
prefix = "/app/"
url = "http://x"
strip = true`, `unknown key "upstream.strip"`},
		{"overlapping", `[[upstream]]
name = "a"
prefix = "/app/"
url = "http://x"
[[upstream]]
name = "b"
prefix = "/app/v2/"
url = "http://y"`, `upstream[2].prefix: "/app/v2/" overlaps upstream[1]'s "/app/"`},
		{"same name", `[[upstream]]
name = "a"
prefix = "/app/"
url = "http://x"
[[upstream]]
name = "a"
prefix = "/b/"
url = "http://y"`, `upstream[2].name: "a" is upstream[1]'s too`},
		{"no name", `[[upstream]]
prefix = "/app/"
url = "http://x"`, `upstream[1].name: "" is not`},
		{"empty", ``, `no [[upstream]]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := gatewayFile(t, tc.toml)
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "WXB_GATEWAY_FILE (--gateway-file): ") || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("problems %v, want one naming %q", errs, tc.want)
			}
		})
	}
}

// The router refuses upstreams it is given directly (not from a file) on
// the same rules.
func TestGateway_RouterRefusesAPrefixThatShadowsTheContract(t *testing.T) {
	f := newFixture(t, nil)
	_, err := httpapi.NewRouter(f.app, slog.New(slog.DiscardHandler), httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		Upstreams: []httpapi.Upstream{{Name: "a", Prefix: "/healthz/", URL: "http://127.0.0.1:1"}}}, f.clock, httpapi.Limits{}, nil)
	if err == nil || !strings.Contains(err.Error(), "shadows") {
		t.Fatalf("NewRouter: %v", err)
	}
}
