package config

import (
	"fmt"
	"os"
	"strings"

	"wxbackend/adapters/webhook"
	"wxbackend/app"
	"wxbackend/config/setting"
	"wxbackend/domain"
)

// Push is WeChat's message push (消息推送) of the one app of
// WXB_WECHAT_APP_ID, and where its events go; several apps set the same in
// the apps file (AppPush). The receiver serves /wechat/push/{appid} for
// each app with a token.
type Push struct {
	Token                  setting.Secret `setting:"wechat-push-token" usage:"the app's message push Token (WeChat's console, 消息推送); empty: no push receiver"`
	EncodingAESKey         setting.Secret `setting:"wechat-push-encoding-aes-key" usage:"the app's EncodingAESKey (43 characters) for compatible and safe mode; empty: plain mode only"`
	PreviousEncodingAESKey setting.Secret `setting:"wechat-push-previous-encoding-aes-key" usage:"the EncodingAESKey before the current one, still accepted while WeChat changes over"`
	WebhookURL             string         `setting:"wechat-push-webhook-url" usage:"where the app's push events are delivered (POST of signed JSON); required with a push token"`
	WebhookSecret          setting.Secret `setting:"wechat-push-webhook-secret" usage:"the secret that signs deliveries to the webhook (X-WXB-Signature)"`
	Webhook                webhook.Options
}

// AppPush is an app's push settings in the apps file:
//
//	push_token_file = "/run/secrets/shop-push-token"    # or push_token = "..."
//	push_encoding_aes_key_file = "/run/secrets/shop-aes" # or push_encoding_aes_key
//	push_previous_encoding_aes_key = "..."               # optional, during a change
//	webhook_url = "https://shop.internal/wechat-events"
//	webhook_secret_file = "/run/secrets/shop-webhook"    # or webhook_secret
type AppPush struct {
	PushToken                      setting.Secret `toml:"push_token"`
	PushTokenFile                  string         `toml:"push_token_file"`
	PushEncodingAESKey             setting.Secret `toml:"push_encoding_aes_key"`
	PushEncodingAESKeyFile         string         `toml:"push_encoding_aes_key_file"`
	PushPreviousEncodingAESKey     setting.Secret `toml:"push_previous_encoding_aes_key"`
	PushPreviousEncodingAESKeyFile string         `toml:"push_previous_encoding_aes_key_file"`
	WebhookURL                     string         `toml:"webhook_url"`
	WebhookSecret                  setting.Secret `toml:"webhook_secret"`
	WebhookSecretFile              string         `toml:"webhook_secret_file"`
}

// pushKeys are the names of an app's push keys, for the apps file's error
// of an unknown key.
const pushKeys = "push_token(_file), push_encoding_aes_key(_file), push_previous_encoding_aes_key(_file), webhook_url, webhook_secret(_file)"

// read reads the _file forms of the secrets and checks them; at names the
// app in errors.
func (a *AppPush) read(at string) []error {
	var errs []error
	for _, s := range []struct {
		key   string
		value *setting.Secret
		file  string
	}{
		{"push_token", &a.PushToken, a.PushTokenFile},
		{"push_encoding_aes_key", &a.PushEncodingAESKey, a.PushEncodingAESKeyFile},
		{"push_previous_encoding_aes_key", &a.PushPreviousEncodingAESKey, a.PushPreviousEncodingAESKeyFile},
		{"webhook_secret", &a.WebhookSecret, a.WebhookSecretFile},
	} {
		if s.file == "" {
			continue
		}
		if *s.value != "" {
			errs = append(errs, fmt.Errorf("%s: %s and %s_file: set one, not both", at, s.key, s.key))
			continue
		}
		b, err := os.ReadFile(s.file)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%s_file: %v", at, s.key, err))
			continue
		}
		*s.value = setting.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	for _, err := range checkPush(a.PushToken, a.PushEncodingAESKey, a.PushPreviousEncodingAESKey, a.WebhookURL, a.WebhookSecret) {
		errs = append(errs, fmt.Errorf("%s: %v", at, err))
	}
	return errs
}

// checkPush is the rules of an app's push settings.
func checkPush(token, key, prev setting.Secret, hookURL string, hookSecret setting.Secret) []error {
	var errs []error
	for name, k := range map[string]setting.Secret{"encoding_aes_key": key, "previous_encoding_aes_key": prev} {
		if k == "" {
			continue
		}
		if _, err := domain.ParsePushKey(k.Reveal()); err != nil {
			errs = append(errs, fmt.Errorf("push %s: %v", name, err)) // says what is wrong, not the key
		}
	}
	if prev != "" && key == "" {
		errs = append(errs, fmt.Errorf("a previous encoding_aes_key without a current one"))
	}
	if token == "" {
		if key != "" || hookURL != "" {
			errs = append(errs, fmt.Errorf("push settings without a push token"))
		}
		return errs
	}
	if hookURL == "" {
		errs = append(errs, fmt.Errorf("a push token needs a webhook_url, where its events go"))
	} else if err := webhook.CheckURL(hookURL); err != nil {
		errs = append(errs, err)
	}
	if hookSecret == "" {
		errs = append(errs, fmt.Errorf("a push token needs a webhook_secret, which signs deliveries"))
	}
	return errs
}

// check checks the one app's push settings, and that a delivery ends
// within its lease (else another server would deliver the event too).
func (p *Push) check(c *Config, problems *setting.Problems) {
	if p.Webhook.Timeout >= c.App.Push.Lease {
		problems.Add(&p.Webhook.Timeout, "must be shorter than WXB_PUSH_WORKER_LEASE (%v): a delivery must end while its server holds the event", c.App.Push.Lease)
	}
	if c.Apps.File != "" {
		if p.Token != "" || p.EncodingAESKey != "" || p.WebhookURL != "" {
			problems.Add(&p.Token, "several apps come from the file: set push settings there (push_token, webhook_url…)")
		}
		return
	}
	for _, err := range checkPush(p.Token, p.EncodingAESKey, p.PreviousEncodingAESKey, p.WebhookURL, p.WebhookSecret) {
		problems.Add(&p.Token, "%v", err)
	}
}

// pushOf returns the push settings of every app, by appid: the apps file's,
// or the one app's.
func (c Config) pushOf() map[string]AppPush {
	out := map[string]AppPush{}
	if len(c.Apps.list) == 0 {
		if c.Push.Token != "" {
			out[c.WeChat.AppID] = AppPush{PushToken: c.Push.Token, PushEncodingAESKey: c.Push.EncodingAESKey,
				PushPreviousEncodingAESKey: c.Push.PreviousEncodingAESKey, WebhookURL: c.Push.WebhookURL, WebhookSecret: c.Push.WebhookSecret}
		}
		return out
	}
	for _, a := range c.Apps.list {
		if a.PushToken != "" {
			out[a.AppID] = a.AppPush
		}
	}
	return out
}

// PushApps returns what the push receiver knows of each app with a push
// token (none: no receiver).
func (c Config) PushApps() []app.PushApp {
	var out []app.PushApp
	for id, p := range c.pushOf() {
		a := app.PushApp{AppID: id, Token: p.PushToken.Reveal()}
		for _, k := range []setting.Secret{p.PushEncodingAESKey, p.PushPreviousEncodingAESKey} {
			if k == "" {
				continue
			}
			if key, err := domain.ParsePushKey(k.Reveal()); err == nil { // checked by Check
				a.Keys = append(a.Keys, key)
			}
		}
		out = append(out, a)
	}
	return out
}

// WebhookTargets returns where each app's events go.
func (c Config) WebhookTargets() map[string]webhook.Target {
	out := map[string]webhook.Target{}
	for id, p := range c.pushOf() {
		out[id] = webhook.Target{URL: p.WebhookURL, Secret: p.WebhookSecret}
	}
	return out
}
