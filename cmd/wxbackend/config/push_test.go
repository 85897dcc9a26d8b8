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

const (
	aesKey  = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	aesPrev = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
)

func TestLoad_PushOfTheOneAppFromEnv(t *testing.T) {
	e := maps.Clone(creds)
	maps.Copy(e, map[string]string{"WXB_WECHAT_PUSH_TOKEN": "tok", "WXB_WECHAT_PUSH_ENCODING_AES_KEY": aesKey,
		"WXB_WECHAT_PUSH_PREVIOUS_ENCODING_AES_KEY": aesPrev, "WXB_WECHAT_PUSH_WEBHOOK_URL": "https://hooks.example/wx",
		"WXB_WECHAT_PUSH_WEBHOOK_SECRET": "hooksecret"})
	c, err := config.Load(nil, env(e), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	apps := c.PushApps()
	if len(apps) != 1 || apps[0].AppID != "wx1" || apps[0].Token != "tok" || len(apps[0].Keys) != 2 {
		t.Fatalf("push apps %+v", apps)
	}
	if tg := c.WebhookTargets()["wx1"]; tg.URL != "https://hooks.example/wx" || tg.Secret.Reveal() != "hooksecret" {
		t.Fatalf("webhook %+v", tg)
	}
	for _, s := range []string{"tok", aesKey, aesPrev, "hooksecret"} {
		if strings.Contains(c.String(), s) {
			t.Fatalf("%q printed", s)
		}
	}
	if c, err := config.Load(nil, env(creds), io.Discard); err != nil || len(c.PushApps()) != 0 {
		t.Fatalf("no push token: %v, %v", c.PushApps(), err)
	}
}

func TestLoad_PushProblems(t *testing.T) {
	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"bad key":           {map[string]string{"WXB_WECHAT_PUSH_TOKEN": "t", "WXB_WECHAT_PUSH_ENCODING_AES_KEY": "short", "WXB_WECHAT_PUSH_WEBHOOK_URL": "https://h/", "WXB_WECHAT_PUSH_WEBHOOK_SECRET": "s"}, "43 characters"},
		"no webhook":        {map[string]string{"WXB_WECHAT_PUSH_TOKEN": "t"}, "needs a webhook_url"},
		"no webhook secret": {map[string]string{"WXB_WECHAT_PUSH_TOKEN": "t", "WXB_WECHAT_PUSH_WEBHOOK_URL": "https://h/"}, "needs a webhook_secret"},
		"relative webhook":  {map[string]string{"WXB_WECHAT_PUSH_TOKEN": "t", "WXB_WECHAT_PUSH_WEBHOOK_URL": "/h", "WXB_WECHAT_PUSH_WEBHOOK_SECRET": "s"}, "absolute http"},
		"key and no token":  {map[string]string{"WXB_WECHAT_PUSH_ENCODING_AES_KEY": aesKey}, "without a push token"},
	} {
		e := maps.Clone(creds)
		maps.Copy(e, c.env)
		_, err := config.Load(nil, env(e), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "WXB_WECHAT_PUSH_TOKEN") || strings.Contains(err.Error(), "short") {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestLoad_PushInTheAppsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile, keyFile, hookFile := write("token", "file-token\n"), write("key", aesKey+"\n"), write("hook", "file-hook\n")
	good := write("good.toml", `
[[app]]
appid = "wxaaaa"
secret = "a-secret"
push_token_file = "`+tokenFile+`"
push_encoding_aes_key_file = "`+keyFile+`"
webhook_url = "http://127.0.0.1:9000/events"
webhook_secret_file = "`+hookFile+`"
[[app]]
appid = "wxbbbb"
secret = "b-secret"
`)
	c, err := config.Load([]string{"--apps-file", good}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	apps := c.PushApps()
	if len(apps) != 1 || apps[0].AppID != "wxaaaa" || apps[0].Token != "file-token" || len(apps[0].Keys) != 1 {
		t.Fatalf("push apps %+v", apps)
	}
	if tg := c.WebhookTargets()["wxaaaa"]; tg.Secret.Reveal() != "file-hook" {
		t.Fatalf("webhook %+v", tg)
	}
	bad := write("bad.toml", "[[app]]\nappid = \"wx1\"\nsecret = \"s\"\npush_token = \"t\"\npush_token_file = \""+tokenFile+"\"\n")
	if _, err := config.Load([]string{"--apps-file", bad}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "push_token and push_token_file") {
		t.Errorf("both forms: %v", err)
	}
	e := map[string]string{"WXB_WECHAT_PUSH_TOKEN": "t"}
	if _, err := config.Load([]string{"--apps-file", good}, env(e), io.Discard); err == nil || !strings.Contains(err.Error(), "set push settings there") {
		t.Errorf("an apps file and WXB_WECHAT_PUSH_*: %v", err)
	}
}
