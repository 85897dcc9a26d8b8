package config

import (
	"sort"
	"strings"

	"wxbackend/config/setting"
)

// MediaCheck turns WeChat's check of uploaded avatars on for the one app
// (WXB_AVATAR_CHECK); in an apps file, each app has its own media_check =
// true. The rules (review, timeout) are app.MediaCheckOptions. WeChat
// pushes the verdict, so a checked app needs its push token, and fetches
// the image itself, so avatars need a public absolute URL.
type MediaCheck struct {
	Enabled bool `setting:"avatar-check" default:"false" usage:"have WeChat check uploaded avatars (wxa/media_check_async) before others see them; needs the push receiver and a public avatar URL (in an apps file: media_check = true per app)"`
}

// MediaCheckApps returns the appids whose avatars WeChat checks.
func (c Config) MediaCheckApps() []string {
	var out []string
	if len(c.Apps.list) == 0 {
		if c.MediaCheck.Enabled {
			out = append(out, c.WeChat.AppID)
		}
		return out
	}
	for _, a := range c.Apps.list {
		if a.MediaCheck {
			out = append(out, a.AppID)
		}
	}
	return out
}

// check: a checked app needs a push token, the policy must be valid, and
// locally stored avatars need a public URL WeChat can fetch.
func (m *MediaCheck) check(c *Config, p *setting.Problems) {
	apps := c.MediaCheckApps()
	if len(apps) == 0 {
		return
	}
	if m.Enabled && c.Apps.File != "" {
		p.Add(&m.Enabled, "several apps come from the file: set media_check = true there")
	}
	if err := c.App.MediaCheck.Valid(); err != nil {
		p.Add(&c.App.MediaCheck.Review, "%v", err)
	}
	if c.Avatars.Store == "local" && c.Disk.PublicURL == "" && !c.command {
		p.Add(&c.Disk.PublicURL, "avatars checked by WeChat need the public URL WeChat fetches them from (the default is this server's listening address)")
	}
	push := c.pushOf()
	var missing []string
	for _, id := range apps {
		if _, ok := push[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		p.Add(&m.Enabled, "avatars checked by WeChat need the app's push token (WeChat pushes the verdict): %s has none", strings.Join(missing, ", "))
	}
}
