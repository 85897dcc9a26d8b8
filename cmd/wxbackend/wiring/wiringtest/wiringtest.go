// Package wiringtest starts a whole wxbackend for tests: with the WeChat
// sandbox beside it, as make run does (the sandbox in the test's process,
// the server's graph without it), on loopback ports of its own.
package wiringtest

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/internal/sim/sandbox"
)

// FreeAddr returns a loopback address with a port no one listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ServeOn sets cfg to serve on addr, with avatars kept in a directory of
// the test's and served from that address.
func ServeOn(t testing.TB, cfg *config.Config, addr string) {
	t.Helper()
	cfg.Server.Addr = addr
	cfg.Disk.Dir = t.TempDir()
	cfg.Disk.PublicURL = "http://" + addr + "/media/avatars"
}

// Sandbox is a WeChat sandbox served by the test's process.
type Sandbox struct {
	Sandbox *sandbox.Sandbox // the first (or only) app's
	Multi   *sandbox.Multi   // every app's
	URL     string           // its base URL
}

// StartSandbox serves the WeChat sandbox for cfg's apps on a loopback port
// until the test ends, and points cfg's WeChat clients at it. With no app
// configured, it serves the sandbox's default app and names it in cfg.
// Call it after the last change to cfg's apps.
func StartSandbox(t testing.TB, cfg *config.Config) *Sandbox {
	t.Helper()
	if cfg.Apps.File == "" && cfg.WeChat.AppID == "" {
		cfg.WeChat.AppID, cfg.WeChat.Secret = sandbox.DefaultAppID, sandbox.DefaultAppSecret
	}
	apps := cfg.WeChatApps()
	var opts []sandbox.Options
	for _, a := range apps {
		opts = append(opts, sandbox.Options{AppID: a.AppID, AppSecret: a.Secret.Reveal(), UnionIDs: len(apps) > 1})
	}
	if cfg.Apps.File == "" && cfg.Push.Token != "" { // WeChat's message push, as make run sets it up
		opts[0].Push = sandbox.PushApp{Token: cfg.Push.Token.Reveal(), EncodingAESKey: cfg.Push.EncodingAESKey.Reveal()}
		opts[0].WebhookSecret = cfg.Push.WebhookSecret.Reveal()
	}
	multi := sandbox.NewMulti(opts)
	ln, err := sandbox.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- multi.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sandbox: %v", err)
		}
	})
	sb := &Sandbox{Sandbox: multi.Apps()[0], Multi: multi, URL: "http://" + ln.Addr().String()}
	cfg.WeChat.BaseURL = sb.URL
	if cfg.Push.Token != "" && cfg.Push.WebhookURL == "" { // the sandbox is the team's webhook too
		cfg.Push.WebhookURL = sb.URL + "/sandbox/webhook"
	}
	return sb
}

// StartSandboxed starts a server and a WeChat sandbox for it, on an SQLite
// file in the test's temporary directory, adjusted by set (may be nil), and
// stops both at the test's end. It returns the server's base URL and the
// sandbox.
func StartSandboxed(t testing.TB, set func(*config.Config)) (base string, sb *Sandbox) {
	t.Helper()
	cfg := config.Default()
	cfg.DB.DSN = sqlstore.DSN("file:" + t.TempDir() + "/wxbackend.db")
	ServeOn(t, &cfg, FreeAddr(t))
	if set != nil {
		set(&cfg)
	}
	sb = StartSandbox(t, &cfg)
	var srv *httpapi.Server
	a := fx.New(wiring.Options(cfg, io.Discard), fx.Populate(&srv), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return "http://" + srv.Addr(), sb
}
