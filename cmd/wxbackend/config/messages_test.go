package config_test

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxbackend/cmd/wxbackend/config"
)

// The one app's long-term templates are WXB_MESSAGES_LONG_TERM_TEMPLATES;
// in an apps file, each app's long_term_templates.
func TestLoad_LongTermTemplates(t *testing.T) {
	e := maps.Clone(creds)
	e["WXB_MESSAGES_LONG_TERM_TEMPLATES"] = "tmplA,tmplB"
	c, err := config.Load(nil, env(e), io.Discard)
	if err != nil || strings.Join(c.LongTermTemplates()["wx1"], ",") != "tmplA,tmplB" || len(c.LongTermTemplates()) != 1 {
		t.Fatalf("one app: %v, %v", c.LongTermTemplates(), err)
	}
	if c, err := config.Load(nil, env(creds), io.Discard); err != nil || len(c.LongTermTemplates()) != 0 {
		t.Fatalf("none by default: %v, %v", c.LongTermTemplates(), err)
	}
	e["WXB_MESSAGES_LONG_TERM_TEMPLATES"] = "ok," + strings.Repeat("x", 200)
	if _, err := config.Load(nil, env(e), io.Discard); err == nil || !strings.Contains(err.Error(), "messages-long-term-templates") {
		t.Fatalf("a template ID too long: %v", err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "apps.toml")
	body := "[[app]]\nappid = \"wxaaaa\"\nsecret = \"a\"\nlong_term_templates = [\"tmplA\"]\n[[app]]\nappid = \"wxbbbb\"\nsecret = \"b\"\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = config.Load([]string{"--apps-file", file}, env(nil), io.Discard)
	if err != nil || strings.Join(c.LongTermTemplates()["wxaaaa"], ",") != "tmplA" || len(c.LongTermTemplates()) != 1 {
		t.Fatalf("apps file: %v, %v", c.LongTermTemplates(), err)
	}
	if _, err := config.Load([]string{"--apps-file", file}, env(map[string]string{"WXB_MESSAGES_LONG_TERM_TEMPLATES": "tmplA"}), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "long_term_templates") {
		t.Fatalf("the one app's setting with an apps file: %v", err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[[app]]\nappid = \"wxaaaa\"\nsecret = \"a\"\nlong_term_templates = [\"\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load([]string{"--apps-file", bad}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "app[1].long_term_templates") {
		t.Fatalf("an empty template ID: %v", err)
	}
}

// The outbox worker has a policy of its own, the push worker's by default.
func TestLoad_MessageWorkerSettings(t *testing.T) {
	c, err := config.Load(nil, env(creds), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.App.Messages.Policy() != c.App.Push.Policy() {
		t.Fatalf("defaults: %+v, the push worker's %+v", c.App.Messages.Policy(), c.App.Push.Policy())
	}
	e := maps.Clone(creds)
	maps.Copy(e, map[string]string{"WXB_MESSAGES_BATCH": "4", "WXB_MESSAGES_MAX_ATTEMPTS": "5", "WXB_MESSAGES_BACKOFF_BASE": "2s"})
	if c, err = config.Load(nil, env(e), io.Discard); err != nil || c.App.Messages.Batch != 4 || c.App.Messages.MaxAttempts != 5 ||
		c.App.Messages.BackoffBase != 2*time.Second || c.App.Push.Batch != 16 {
		t.Fatalf("set: %+v, %v", c.App.Messages, err)
	}
	e["WXB_MESSAGES_BACKOFF_MAX"] = "1s" // shorter than the first
	if _, err := config.Load(nil, env(e), io.Discard); err == nil || !strings.Contains(err.Error(), "messages-batch") {
		t.Fatalf("a longest backoff under the first: %v", err)
	}
}
