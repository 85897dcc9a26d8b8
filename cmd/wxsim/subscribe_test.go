package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wxbackend/adapters/apikeys"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/config/setting"
)

// As make demo against make run: step subscribe has the user accept, the
// page report it, the service send through the internal listener with its
// key, and WeChat's sent event reconcile the message; the key is never
// printed.
func TestRun_SubscribeStepSendsOneMessage(t *testing.T) {
	dir := t.TempDir()
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keysFile, keyFile := filepath.Join(dir, "keys.toml"), filepath.Join(dir, "demo.key")
	block := apikeys.Block(apikeys.Entry{Name: "demo", SHA256: digest, Scopes: []string{"messages"}})
	if os.WriteFile(keysFile, []byte(block), 0o600) != nil || os.WriteFile(keyFile, []byte(key+"\n"), 0o600) != nil {
		t.Fatal("write the keys")
	}
	internal := wiringtest.FreeAddr(t)
	base, sb := wiringtest.StartSandboxed(t, func(c *config.Config) {
		c.Internal.Addr, c.APIKeys.File = internal, keysFile
		c.Push.Token, c.Push.EncodingAESKey, c.Push.WebhookSecret = "demo-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "demo-hook"
		if errs := setting.Check(&c.Push); len(errs) > 0 {
			t.Fatal(errs)
		}
	})
	var out bytes.Buffer
	if err := run([]string{"-backend", base, "-sandbox", sb.URL, "-internal", "http://" + internal, "-messages-key-file", keyFile,
		"-user", "sim", "-steps", "login,subscribe"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	for _, want := range []string{`"wxsimOrderShippedTemplate":"accept"`, "POST " + base + "/api/v1/me/subscriptions", `"allowed":true`,
		"POST http://" + internal + "/v1/messages", "is sent: WeChat's msgid 9007199254740993", `"success" (msgid 9007199254740993)`, "is delivered"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), key) {
		t.Errorf("the key was printed:\n%s", &out)
	}
	// Without a key file: a clear error naming the way to get one.
	err = run([]string{"-backend", base, "-sandbox", sb.URL, "-messages-key-file", filepath.Join(dir, "none"), "-user", "sim", "-steps", "login,subscribe"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "make run writes one") {
		t.Fatalf("without a key: %v", err)
	}
}
