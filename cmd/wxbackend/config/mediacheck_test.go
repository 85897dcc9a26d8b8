package config_test

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wxbackend/cmd/wxbackend/config"
)

// The one app's avatar check is WXB_AVATAR_CHECK, and needs the push token
// and a public avatar URL; in an apps file it is each app's media_check.
func TestLoad_MediaCheck(t *testing.T) {
	push := maps.Clone(creds)
	maps.Copy(push, map[string]string{"WXB_WECHAT_PUSH_TOKEN": "tok", "WXB_WECHAT_PUSH_WEBHOOK_URL": "https://hooks.example/wx",
		"WXB_WECHAT_PUSH_WEBHOOK_SECRET": "hooksecret", "WXB_AVATAR_PUBLIC_URL": "https://api.example/media/avatars"})
	on := maps.Clone(push)
	on["WXB_AVATAR_CHECK"] = "true"
	c, err := config.Load(nil, env(on), io.Discard)
	if err != nil || strings.Join(c.MediaCheckApps(), ",") != "wx1" {
		t.Fatalf("on: %v, %v", c.MediaCheckApps(), err)
	}
	if c, err := config.Load(nil, env(push), io.Discard); err != nil || len(c.MediaCheckApps()) != 0 {
		t.Fatalf("off by default: %v, %v", c.MediaCheckApps(), err)
	}
	for name, c := range map[string]struct {
		drop, set, want string
	}{
		"no push token":      {"WXB_WECHAT_PUSH_TOKEN", "", "push token"},
		"no public URL":      {"WXB_AVATAR_PUBLIC_URL", "", "public URL"},
		"review unknown":     {"", "WXB_AVATAR_CHECK_REVIEW=maybe", "avatar-check-review"},
		"no timeout":         {"", "WXB_AVATAR_CHECK_TIMEOUT=0s", "avatar-check-timeout"},
		"keep on no verdict": {"", "WXB_AVATAR_CHECK_ON_TIMEOUT=keep", "avatar-check-on-timeout"},
	} {
		e := maps.Clone(on)
		if c.drop != "" {
			delete(e, c.drop)
			if c.drop == "WXB_WECHAT_PUSH_TOKEN" {
				delete(e, "WXB_WECHAT_PUSH_WEBHOOK_URL")
				delete(e, "WXB_WECHAT_PUSH_WEBHOOK_SECRET")
			}
		}
		if k, v, ok := strings.Cut(c.set, "="); ok {
			e[k] = v
		}
		if _, err := config.Load(nil, env(e), io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}

	file := filepath.Join(t.TempDir(), "apps.toml")
	body := "[[app]]\nappid = \"wxaaaa\"\nsecret = \"a\"\nmedia_check = true\npush_token = \"t\"\nwebhook_url = \"http://127.0.0.1:9000/e\"\nwebhook_secret = \"h\"\n" +
		"[[app]]\nappid = \"wxbbbb\"\nsecret = \"b\"\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = config.Load([]string{"--apps-file", file}, env(map[string]string{"WXB_AVATAR_PUBLIC_URL": "https://api.example/media/avatars"}), io.Discard)
	if err != nil || strings.Join(c.MediaCheckApps(), ",") != "wxaaaa" {
		t.Fatalf("apps file: %v, %v", c.MediaCheckApps(), err)
	}
}
