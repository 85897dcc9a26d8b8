package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/app/wiring"
	"wxbackend/config"
)

// backend starts wxbackend in sandbox mode, as make run does, on SQLite.
func backend(t *testing.T) (base, sandboxURL string) {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.Sandbox.Enabled, cfg.Sandbox.Addr = "127.0.0.1:0", true, "127.0.0.1:0"
	cfg.DB.DSN = config.Secret("file:" + t.TempDir() + "/sim.db")
	var srv *httpapi.Server
	var sb *wiring.SandboxEndpoint
	a := fx.New(wiring.Options(cfg, io.Discard), fx.Populate(&srv, &sb), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return "http://" + srv.Addr(), sb.URL
}

var fullToken = regexp.MustCompile(`[A-Za-z0-9_-]{43}`)

func TestRun_WholeFlowPrintsEveryStepWithoutTheToken(t *testing.T) {
	base, sb := backend(t)
	for _, mode := range [][]string{nil, {"-seed"}, {"-form"}, {"-seed", "-form"}} {
		var out bytes.Buffer
		args := append([]string{"-backend", base, "-sandbox", sb, "-user", "sim", "-nick", "Sim 🤖 模拟"}, mode...)
		if err := run(args, &out); err != nil {
			t.Fatalf("%v: %v\n%s", mode, err, &out)
		}
		got := out.String()
		for _, want := range []string{"POST " + base, "/logout", "Authorization: Bearer ", `nickName “Sim 🤖 模拟”`, `"code":0`} {
			if !strings.Contains(got, want) {
				t.Errorf("%v: output lacks %q:\n%s", mode, want, got)
			}
		}
		if tok := fullToken.FindString(got); tok != "" {
			t.Errorf("%v: a whole token is printed: %s", mode, tok)
		}
	}
}

func TestRun_FailsOnAFailedStep(t *testing.T) {
	base, sb := backend(t)
	var out bytes.Buffer
	err := run([]string{"-backend", base, "-sandbox", sb, "-steps", "me"}, &out)
	if err == nil || !strings.Contains(err.Error(), "code 2") {
		t.Fatalf("me without login: %v", err)
	}
	if err := run([]string{"-backend", base, "-sandbox", sb, "-steps", "dance"}, &out); err == nil {
		t.Fatal("an unknown step passed")
	}
}
