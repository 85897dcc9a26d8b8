package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/config/setting"
	"wxbackend/internal/sim/echo"
)

// As make demo against make run: the service step calls the echo service
// through the backend's gateway and prints the identity headers it got.
func TestRun_ServiceStepPrintsTheHeadersTheServiceGot(t *testing.T) {
	up := httptest.NewServer(echo.Handler())
	t.Cleanup(up.Close)
	file := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(file, []byte("[[upstream]]\nname = \"echo\"\nprefix = \"/app/\"\nurl = \""+up.URL+"\"\nstrip_prefix = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, sb := wiringtest.StartSandboxed(t, func(c *config.Config) {
		c.Gateway.File = file
		if errs := setting.Check(&c.Gateway); len(errs) > 0 {
			t.Fatal(errs)
		}
	})
	var out bytes.Buffer
	if err := run([]string{"-backend", base, "-sandbox", sb.URL, "-user", "sim", "-steps", "login,service"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	for _, want := range []string{"GET " + base + "/app/orders", "the service got GET /orders", "X-Wx-Openid: ", "X-Wx-Source: wxbackend-gateway", "X-Original-Forwarded-For: 127.0.0.1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	// Without a gateway there, the step is skipped, not failed.
	base, sb2 := backend(t)
	out.Reset()
	if err := run([]string{"-backend", base, "-sandbox", sb2, "-user", "sim", "-steps", "login,service"}, &out); err != nil || !strings.Contains(out.String(), "step skipped") {
		t.Fatalf("%v\n%s", err, &out)
	}
}
