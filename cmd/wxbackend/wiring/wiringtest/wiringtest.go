// Package wiringtest starts a whole wxbackend for tests outside the wiring package:
// in sandbox mode, as make run does, on loopback ports of its own.
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

// StartSandboxed starts a server with the WeChat sandbox in process, on an
// SQLite file in the test's temporary directory, adjusted by set (may be
// nil), and stops it at the test's end. It returns the server's base URL and
// the sandbox.
func StartSandboxed(t testing.TB, set func(*config.Config)) (base string, sb *wiring.SandboxEndpoint) {
	t.Helper()
	cfg := config.Default()
	cfg.Sandbox.Enabled, cfg.Sandbox.Addr = true, "127.0.0.1:0"
	cfg.DB.DSN = sqlstore.DSN("file:" + t.TempDir() + "/wxbackend.db")
	ServeOn(t, &cfg, FreeAddr(t))
	if set != nil {
		set(&cfg)
	}
	var srv *httpapi.Server
	a := fx.New(wiring.Options(cfg, io.Discard), fx.Populate(&srv, &sb), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return "http://" + srv.Addr(), sb
}
