package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"wxbackend/adapters/wechat"
	"wxbackend/config/setting"
	"wxbackend/domain"
)

// Apps lists the mini-programs served. One app is configured as before, by
// WXB_WECHAT_APP_ID and WXB_WECHAT_APP_SECRET; several by a TOML file:
//
//	[[app]]
//	appid = "wx1111111111111111"
//	secret_file = "/run/secrets/shop"   # or secret = "..."
//	name = "shop"                       # optional, for people and logs
//	login_per_minute = 120              # optional: the app's own limits
//	session_per_minute = 300
//	openapi_paths = ["wxa/getwxacodeunlimit", "cgi-bin/message/subscribe/send"]
//	                                    # optional: the WeChat API paths your
//	                                    # services may call (default: domain.DefaultOpenAPIPaths)
//	long_term_templates = ["TEMPLATE_ID"]  # optional: long-term subscribe message templates
//
// Adding or removing an app takes a restart; removing one deletes none of
// its users.
type Apps struct {
	File string `setting:"apps-file" usage:"a TOML file of the mini-programs served ([[app]] appid, secret or secret_file, name); instead of WXB_WECHAT_APP_ID and WXB_WECHAT_APP_SECRET"`

	list []App // read from File by Check
}

// App is one mini-program of the apps file.
type App struct {
	AppID      string         `toml:"appid"`
	Secret     setting.Secret `toml:"secret"`
	SecretFile string         `toml:"secret_file"`
	Name       string         `toml:"name"`
	// The app's own limits, per minute, instead of WXB_RATE_*; 0: none.
	LoginPerMinute   *int `toml:"login_per_minute"`
	SessionPerMinute *int `toml:"session_per_minute"`
	// OpenAPIPaths, when set, replaces the default allow-list of WeChat API
	// paths the other services may call for the app (app.OpenAPI).
	OpenAPIPaths *[]string `toml:"openapi_paths"`
	// WeChat's message push and the app's webhook (push.go).
	AppPush
	// MediaCheck has WeChat check the app's uploaded avatars (mediacheck.go).
	MediaCheck bool `toml:"media_check"`
	// LongTermTemplates are the app's long-term subscribe message
	// templates (messages.go).
	LongTermTemplates []string `toml:"long_term_templates"`
}

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

// readApps reads and checks an apps file. Every problem names the file and
// the key.
func readApps(path string) ([]App, []error) {
	var doc struct {
		App []App `toml:"app"`
	}
	md, err := toml.DecodeFile(path, &doc)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", path, err)}
	}
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("%s: unknown key %q (an app has appid, secret, secret_file, name, login_per_minute, session_per_minute, openapi_paths, media_check, long_term_templates, %s)", path, k.String(), pushKeys))
	}
	if len(doc.App) == 0 {
		errs = append(errs, fmt.Errorf("%s: no [[app]]", path))
	}
	seen, names := map[string]int{}, map[string]int{}
	for i := range doc.App {
		a := &doc.App[i]
		at := fmt.Sprintf("%s: app[%d]", path, i+1)
		switch {
		case !appIDPattern.MatchString(a.AppID):
			errs = append(errs, fmt.Errorf("%s.appid: %q is not an appid", at, a.AppID))
		case seen[a.AppID] != 0:
			errs = append(errs, fmt.Errorf("%s.appid: %s is app[%d]'s too", at, a.AppID, seen[a.AppID]))
		default:
			seen[a.AppID] = i + 1
		}
		errs = append(errs, a.AppPush.read(at)...)
		for key, n := range map[string]*int{"login_per_minute": a.LoginPerMinute, "session_per_minute": a.SessionPerMinute} {
			if n != nil && *n < 0 {
				errs = append(errs, fmt.Errorf("%s.%s: must not be negative", at, key))
			}
		}
		if a.OpenAPIPaths != nil {
			if err := domain.CheckOpenAPIPaths(*a.OpenAPIPaths); err != nil {
				errs = append(errs, fmt.Errorf("%s.openapi_paths: %w", at, err))
			}
		}
		for _, id := range a.LongTermTemplates {
			if err := checkTemplateID(id); err != nil {
				errs = append(errs, fmt.Errorf("%s.long_term_templates: %w", at, err))
			}
		}
		if a.Name != "" {
			if n := names[a.Name]; n != 0 {
				errs = append(errs, fmt.Errorf("%s.name: %q is app[%d]'s too", at, a.Name, n))
			}
			names[a.Name] = i + 1
		}
		switch {
		case a.Secret != "" && a.SecretFile != "":
			errs = append(errs, fmt.Errorf("%s: secret and secret_file: set one, not both", at))
		case a.SecretFile != "":
			b, err := os.ReadFile(a.SecretFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.secret_file: %v", at, err))
				break
			}
			a.Secret = setting.Secret(strings.TrimRight(string(b), "\r\n"))
			if a.Secret == "" {
				errs = append(errs, fmt.Errorf("%s.secret_file: %s is empty", at, a.SecretFile))
			}
		case a.Secret == "":
			errs = append(errs, fmt.Errorf("%s: secret or secret_file is required", at))
		}
	}
	return doc.App, errs
}

// check reads the apps file, if any, into c.list.
func (a *Apps) check(p *setting.Problems) {
	if a.File == "" {
		return
	}
	list, errs := readApps(a.File)
	if len(errs) > 0 {
		p.Add(&a.File, "%v", errors.Join(errs...))
		return
	}
	a.list = list
}

// AppLimits are the apps that have limits of their own: appid → limits.
func (c Config) AppLimits() map[string]Limits {
	out := map[string]Limits{}
	for _, a := range c.Apps.list {
		if a.LoginPerMinute == nil && a.SessionPerMinute == nil {
			continue
		}
		l := c.Limits
		if a.LoginPerMinute != nil {
			l.LoginPerMinute = *a.LoginPerMinute
		}
		if a.SessionPerMinute != nil {
			l.SessionPerMinute = *a.SessionPerMinute
		}
		out[a.AppID] = l
	}
	return out
}

// OpenAPIPaths are the apps' own allow-lists of WeChat API paths for
// your services: appid → paths, for the apps whose entry has one.
func (c Config) OpenAPIPaths() map[string][]string {
	out := map[string][]string{}
	for _, a := range c.Apps.list {
		if a.OpenAPIPaths != nil {
			out[a.AppID] = *a.OpenAPIPaths
		}
	}
	return out
}

// WeChatApps returns the options of each app's WeChat client: the apps
// file's, or the one app of WXB_WECHAT_*. The base URL and timeout are the
// same for all.
func (c Config) WeChatApps() []wechat.Options {
	if len(c.Apps.list) == 0 {
		return []wechat.Options{c.WeChat}
	}
	out := make([]wechat.Options, len(c.Apps.list))
	for i, a := range c.Apps.list {
		o := c.WeChat
		o.AppID, o.Secret = a.AppID, a.Secret
		out[i] = o
	}
	return out
}
