package wiring_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/apikeys"
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
)

// writeKey makes a key named name of scope introspect and writes the keys
// file at path with its entry and blocks.
func writeKey(t *testing.T, path, name string, blocks ...string) (key, block string) {
	t.Helper()
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block = apikeys.Block(apikeys.Entry{Name: name, SHA256: digest, Scopes: []string{"introspect"}})
	replaceFile(t, path, strings.Join(append(blocks, block), "\n"))
	return key, block
}

// replaceFile writes a keys file as an operator should (and as Kubernetes
// updates a mounted secret): a new file renamed over the old one, so a
// server that reads it mid-change sees the old content or the new, never
// half of it.
func replaceFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// internalServer starts a server with the internal listener on keys file
// path, reloading it every interval (0: on SIGHUP only), and returns it
// with the internal listener's base URL.
func internalServer(t *testing.T, path string, interval time.Duration) (*server, string) {
	t.Helper()
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret = appID, appSecret
	cfg.DB = sqliteDB(t)
	cfg.Internal.Addr = "127.0.0.1:0" // the listener's address is read once it listens
	cfg.APIKeys.File, cfg.APIKeys.ReloadInterval = path, interval
	sb := wiringtest.StartSandbox(t, &cfg)
	var internal wiring.InternalServer
	s := launch(t, cfg, fx.Populate(&internal))
	s.sb = sb.Sandbox
	return s, "http://" + internal.Addr()
}

// eventually polls check until it holds, for at most 10 s.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a running server, not waiting for time to pass
	}
}

func introspect(t *testing.T, base, key, token string) (apiclient.Introspection, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Past the public document's check: the internal listener has its own
	// document, which adapters/httpapi's tests hold its answers to.
	return apiclient.Introspect(ctx, &http.Client{Transport: contract.Base}, base, key, token)
}

// A service introspects a token of a user logged in through the sandbox,
// then of the same user logged out.
func TestE2E_IntrospectionOnTheInternalListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.toml")
	key, _ := writeKey(t, path, "orders")
	s, internal := internalServer(t, path, 0)
	tok := s.login(t, "alice")
	in, err := introspect(t, internal, key, tok)
	if err != nil || !in.Active || in.Subject != s.openID(t, "alice") || in.AppID != appID || in.ClientID != appID ||
		in.TokenType != "Bearer" || in.IssuedAt == 0 || in.ExpiresAt-in.IssuedAt != int64(s.cfg.App.SessionTTL/time.Second) {
		t.Fatalf("%+v, %v", in, err)
	}
	if e, raw := s.post(t, "/api/v1/logout", map[string]string{}, "Authorization", "Bearer "+tok); e.Code != 0 {
		t.Fatalf("logout: %s", raw)
	}
	if in, err := introspect(t, internal, key, tok); err != nil || in != (apiclient.Introspection{}) {
		t.Fatalf("after the logout: %+v, %v", in, err)
	}
	var apiErr *apiclient.Error
	if _, err := introspect(t, internal, "wxk_unknown", tok); !errors.As(err, &apiErr) || apiErr.Code != 2 || apiErr.HTTPStatus != 401 {
		t.Fatalf("an unknown key: %v", err)
	}
	// The public listener has no such route.
	if e, _ := s.post(t, "/introspect", map[string]string{"token": tok}, "Authorization", "Bearer "+key); e.Code != 1 {
		t.Fatalf("/introspect on the public listener: %+v", e)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "key=orders") || !strings.Contains(logs, "api keys loaded: 1 key (orders)") {
		t.Errorf("logs:\n%s", logs)
	}
	for _, secret := range []string{key, apikeys.Digest(key), tok} {
		if strings.Contains(logs, secret) {
			t.Errorf("a key, digest or token is in the logs:\n%s", logs)
		}
	}
}

// A key rotated in the file of a running server: the new key works once
// the file changed (the watch) or at once on SIGHUP, and the old one stops
// when its entry goes.
func TestE2E_KeysRotateWithoutARestart(t *testing.T) {
	for _, c := range []struct {
		name     string
		interval time.Duration
		nudge    func()
	}{
		{"edited file", 20 * time.Millisecond, func() {}},
		{"SIGHUP", 0, func() {
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.toml")
			old, oldBlock := writeKey(t, path, "orders")
			s, internal := internalServer(t, path, c.interval)
			tok := s.login(t, "bob")
			fresh, freshBlock := writeKey(t, path, "orders", oldBlock) // both, during the rotation
			c.nudge()
			eventually(t, "the new key accepted", func() bool { in, err := introspect(t, internal, fresh, tok); return err == nil && in.Active })
			if in, err := introspect(t, internal, old, tok); err != nil || !in.Active {
				t.Fatalf("the old key during the rotation: %+v, %v", in, err)
			}
			replaceFile(t, path, freshBlock)
			c.nudge()
			eventually(t, "the old key refused", func() bool { _, err := introspect(t, internal, old, tok); return err != nil })
			replaceFile(t, path, "[[key]\n") // broken: the keys in force stay
			c.nudge()
			eventually(t, "the broken file logged", func() bool { return strings.Contains(s.logs.String(), "api keys not reloaded") })
			if in, err := introspect(t, internal, fresh, tok); err != nil || !in.Active {
				t.Fatalf("the key in force, after a broken file: %+v, %v", in, err)
			}
			for _, secret := range []string{old, fresh, apikeys.Digest(old), apikeys.Digest(fresh), tok} {
				if strings.Contains(s.logs.String(), secret) {
					t.Fatalf("a key, digest or token is in the logs:\n%s", s.logs)
				}
			}
		})
	}
}

func TestE2E_NoKeysFileNoInternalListener(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.DB = sqliteDB(t) })
	if !strings.Contains(s.logs.String(), "internal listener off") {
		t.Fatalf("logs:\n%s", s.logs)
	}
	if _, err := http.Get("http://" + s.cfg.Internal.Addr + "/openapi.json"); err == nil {
		t.Fatal("something listens on the internal address") // 127.0.0.1:8081 unless another process of the machine has it
	}
	// A SIGHUP meant to reload keys does not stop a server without any
	// (its default action would end this test's process).
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the SIGHUP logged", func() bool { return strings.Contains(s.logs.String(), "SIGHUP: no API keys file to reload") })
}

// keys new prints a key once and the block of its digest; the file of
// that block lists the key by name, and knows the key.
func TestKeys_NewThenList(t *testing.T) {
	var out strings.Builder
	if err := wiring.NewKey(wiring.NewKeyCommand{Name: "orders", Scopes: "introspect,openapi", Apps: "wx1111111111111111", Out: &out}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	i := strings.Index(text, "[[key]]")
	start := strings.Index(text, apikeys.KeyPrefix)
	if i < 0 || start < 0 {
		t.Fatalf("output:\n%s", text)
	}
	key := strings.Fields(text[start:])[0]
	if strings.Count(text, key) != 1 || !strings.Contains(text, apikeys.Digest(key)) {
		t.Fatalf("the key is not printed once with its digest:\n%s", text)
	}
	path := filepath.Join(t.TempDir(), "keys.toml")
	if err := os.WriteFile(path, []byte(text[i:]), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	var cfg config.Config
	cfg.APIKeys.File = path
	if err := wiring.ListKeys(cfg, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out.String()); strings.Join(got, " ") != "NAME SCOPES APPS orders introspect,openapi wx1111111111111111" {
		t.Fatalf("list: %q", out.String())
	}
	if strings.Contains(out.String(), apikeys.Digest(key)) {
		t.Fatal("list shows a digest")
	}
	keys, err := apikeys.Open(path, slogDiscard())
	if err != nil {
		t.Fatal(err)
	}
	if k, err := keys.Lookup(context.Background(), key); err != nil || k.Name != "orders" {
		t.Fatalf("the new key: %+v, %v", k, err)
	}
	for _, bad := range []wiring.NewKeyCommand{{Name: "orders"}, {Name: "a b", Scopes: "introspect"},
		{Name: "x", Scopes: "admin"},
		// An app no appid has: the block printed would be refused by the
		// server that reads it (at start, or on reload, every key with it).
		{Name: "x", Scopes: "introspect", Apps: "wx!!"},
		{Name: "x", Scopes: "introspect", Apps: "wx1111111111111111,wx-2"}} {
		bad.Out = &out
		if err := wiring.NewKey(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if err := wiring.ListKeys(config.Config{}, &out); err == nil {
		t.Error("list without a keys file: no error")
	}
}

func noEnv(string) (string, bool) { return "", false }

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
