package apikeys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/apikeys"
	"wxbackend/domain"
)

// newKey makes a key and its [[key]] block.
func newKey(t *testing.T, name string, scopes []string, apps ...string) (key, block string) {
	t.Helper()
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key, apikeys.Block(apikeys.Entry{Name: name, SHA256: digest, Scopes: scopes, Apps: apps})
}

// writeFile writes the keys file's content.
func writeFile(t *testing.T, path string, blocks ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(blocks, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// open opens a keys file of blocks, logging to the returned buffer.
func open(t *testing.T, blocks ...string) (*apikeys.Keys, string, *bytes.Buffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.toml")
	writeFile(t, path, blocks...)
	var log bytes.Buffer
	k, err := apikeys.Open(path, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return k, path, &log
}

func lookup(t *testing.T, k *apikeys.Keys, key string) (domain.APIKey, error) {
	t.Helper()
	return k.Lookup(context.Background(), key)
}

func TestLookup_KnownKeyIsItsEntryAndOthersAreUnauthenticated(t *testing.T) {
	orders, b1 := newKey(t, "orders", []string{"introspect", "openapi"})
	shop, b2 := newKey(t, "shop", []string{"messages"}, "wx1111111111111111")
	k, _, log := open(t, b1, b2)
	got, err := lookup(t, k, orders)
	if err != nil || got.Name != "orders" || !got.Allows(domain.ScopeOpenAPI, "wxany") || got.Allows(domain.ScopeMessages, "") {
		t.Fatalf("orders: %+v, %v", got, err)
	}
	got, err = lookup(t, k, shop)
	if err != nil || got.Name != "shop" || !got.Allows(domain.ScopeMessages, "wx1111111111111111") || got.Allows(domain.ScopeMessages, "wx2222222222222222") {
		t.Fatalf("shop: %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"empty": "", "unknown": "wxk_nope", "a digest": apikeys.Digest(orders), "a key cut short": orders[:len(orders)-1],
		"a key with more": orders + "x", "too long": orders + strings.Repeat("x", apikeys.MaxKeyLen),
	} {
		if _, err := lookup(t, k, bad); domain.KindOf(err) != domain.KindUnauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(log.String(), "api keys loaded: 2 keys (orders, shop)") {
		t.Errorf("log: %s", log)
	}
	noSecrets(t, log.String(), orders, shop)
}

// Rotation: two keys of one name both work until the old entry goes.
func TestRotation_TwoKeysOfOneNameBothWorkUntilTheOldIsRemoved(t *testing.T) {
	old, oldBlock := newKey(t, "orders", []string{"introspect"})
	k, path, log := open(t, oldBlock)
	fresh, freshBlock := newKey(t, "orders", []string{"introspect"})
	writeFile(t, path, oldBlock, freshBlock)
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{old, fresh} {
		if got, err := lookup(t, k, key); err != nil || got.Name != "orders" {
			t.Fatalf("during the rotation: %+v, %v", got, err)
		}
	}
	writeFile(t, path, freshBlock)
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(t, k, old); domain.KindOf(err) != domain.KindUnauthenticated {
		t.Fatalf("the old key after the rotation: %v", err)
	}
	if _, err := lookup(t, k, fresh); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "api keys reloaded: 2 keys (orders)") || !strings.Contains(log.String(), "api keys reloaded: 1 key (orders)") {
		t.Errorf("log: %s", log)
	}
	noSecrets(t, log.String(), old, fresh)
}

// A file that does not parse keeps the keys in force, and says why
// without a key or digest; it is logged once however often it is checked.
func TestReload_BrokenFileKeepsTheKeysInForce(t *testing.T) {
	key, block := newKey(t, "orders", []string{"introspect"})
	k, path, log := open(t, block)
	writeFile(t, path, block+"\n[[key]]\nname = \"shop\"\nsha256 = \""+key+"\"\nscopes = [\"introspect\"]\n")
	err := k.Reload()
	if err == nil || !strings.Contains(err.Error(), "key[2] (shop).sha256") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if changed, err := k.ReloadIfChanged(); changed || err == nil {
		t.Fatalf("check of a broken file: %v %v", changed, err)
	}
	if got, err := lookup(t, k, key); err != nil || got.Name != "orders" {
		t.Fatalf("the key in force: %+v, %v", got, err)
	}
	if n := strings.Count(log.String(), "api keys not reloaded"); n != 1 { // the reload asked for; the check found the same
		t.Errorf("logged %d times: %s", n, log)
	}
	if _, _ = k.ReloadIfChanged(); strings.Count(log.String(), "api keys not reloaded") != 1 {
		t.Errorf("the same failure logged again: %s", log)
	}
	noSecrets(t, log.String(), key)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(); err == nil {
		t.Fatal("a missing file reloaded")
	}
	if _, err := lookup(t, k, key); err != nil {
		t.Fatalf("the key in force, with the file gone: %v", err)
	}
}

// Watch reloads when the content changes, at a tick of the caller's.
func TestWatch_ReloadsOnChange(t *testing.T) {
	_, block := newKey(t, "orders", []string{"introspect"})
	k, path, _ := open(t, block)
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { k.Watch(ctx, tick); close(done) }()
	defer func() { cancel(); <-done }()
	tick <- time.Time{} // unchanged
	added, addedBlock := newKey(t, "shop", []string{"messages"})
	writeFile(t, path, block, addedBlock)
	tick <- time.Time{} // changed: read while handling this tick
	tick <- time.Time{} // the previous tick is handled once this one is taken
	if got, err := lookup(t, k, added); err != nil || got.Name != "shop" {
		t.Fatalf("after the change: %+v, %v", got, err)
	}
}

func TestOpen_FileErrorsNameTheEntry(t *testing.T) {
	_, good := newKey(t, "good", []string{"introspect"})
	for name, c := range map[string]struct{ content, want string }{
		"not TOML":      {"[[key]\n", "keys.toml"},
		"unknown field": {good + "secret = \"x\"\n", `unknown key "key.secret"`},
		"bad name":      {"[[key]]\nname = \"a b\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\nscopes = [\"introspect\"]\n", "key[1].name"},
		"bad digest":    {"[[key]]\nname = \"orders\"\nsha256 = \"abc\"\nscopes = [\"introspect\"]\n", "key[1] (orders).sha256"},
		"no scope":      {"[[key]]\nname = \"orders\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\n", "key[1] (orders).scopes: at least one"},
		"bad scope":     {"[[key]]\nname = \"orders\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\nscopes = [\"admin\"]\n", `key[1] (orders).scopes: "admin" is no scope`},
		"bad app":       {"[[key]]\nname = \"orders\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\nscopes = [\"openapi\"]\napps = [\"wx 1\"]\n", "key[1] (orders).apps"},
		"same digest":   {good + "\n" + strings.Replace(good, `"good"`, `"copy"`, 1), "key[2] (copy).sha256: the digest of key[1] too"},
	} {
		path := filepath.Join(t.TempDir(), "keys.toml")
		if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := apikeys.Open(path, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, err := apikeys.Open(filepath.Join(t.TempDir(), "none.toml"), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a missing file opened")
	}
}

func TestNewKey_IsFreshPrefixedAndItsDigestIsTheFileForm(t *testing.T) {
	a, da, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := apikeys.NewKey(rand.Reader)
	if a == b || !strings.HasPrefix(a, apikeys.KeyPrefix) || len(a) != len(apikeys.KeyPrefix)+43 || da != apikeys.Digest(a) || len(da) != 64 {
		t.Fatalf("keys %q %q, digest %q", a, b, da)
	}
}

// noSecrets fails when text holds any of the keys, or their digests.
func noSecrets(t *testing.T, text string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(text, k) || strings.Contains(text, apikeys.Digest(k)) {
			t.Errorf("a key or its digest is in %q", text)
		}
	}
}
