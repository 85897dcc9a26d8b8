package wiring_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

const (
	shopApp  = "wx5h0p000000000001"
	staffApp = "wx57aff00000000002"
)

// TestE2E_TwoAppsOnOneServer: a shop and its staff app, configured by an
// apps file, on one server and one sandbox: each app's login, user info and
// phone number with its own keys; a token of one refused by the other;
// the app named by the Referer a phone sends, or by X-WX-AppID; the same
// person's accounts linked by their unionid.
func TestE2E_TwoAppsOnOneServer(t *testing.T) {
	cfg := twoApps(t)
	cfg.DB = sqliteDB(t)
	ep := wiringtest.StartSandbox(t, &cfg)
	s := launch(t, cfg)
	ctx := context.Background()
	referer := func(app string) http.Header {
		return http.Header{"Referer": {"https://servicewechat.com/" + app + "/7/page-frame.html"}}
	}
	tokens := map[string]string{}
	openIDs := map[string]string{}
	for _, app := range []string{shopApp, staffApp} {
		sb := ep.Multi.App(app)
		if sb == nil {
			t.Fatalf("no sandbox for %s", app)
		}
		code, _ := sb.Login(ctx, "ada")
		resp, err := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Path: "/api/v1/login",
			Fields: []apiclient.Field{{Name: "code", Value: code}}, Header: referer(app)})
		var login apiclient.Login
		if err != nil || resp.Decode(&login) != nil || login.User.OpenID == "" {
			t.Fatalf("%s login: %+v %v", app, resp.Envelope, err)
		}
		tokens[app], openIDs[app] = login.Token, login.User.OpenID
		_ = sb.SetProfile(ctx, "ada", sandbox.Profile{NickName: "Ada of " + app})
		info, _ := sb.GetUserInfo(ctx, "ada")
		resp, _ = apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Path: "/api/v1/userinfo", Token: login.Token,
			Header: http.Header{"X-WX-AppID": {app}}, Fields: []apiclient.Field{{Name: "encryptedData", Value: info.EncryptedData}, {Name: "iv", Value: info.IV}}})
		var p apiclient.Profile
		if err := resp.Decode(&p); err != nil || p.NickName != "Ada of "+app {
			t.Fatalf("%s userinfo: %+v %v", app, resp.Envelope, err)
		}
		phoneCode, _ := sb.PhoneCode(ctx, "ada")
		resp, _ = apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Path: "/api/v1/me/phone", Token: login.Token,
			Header: referer(app), Fields: []apiclient.Field{{Name: "code", Value: phoneCode}}})
		if err := resp.Decode(&p); err != nil || p.PurePhoneNumber != sandbox.PhoneOf("ada") {
			t.Fatalf("%s phone: %+v %v", app, resp.Envelope, err)
		}
	}
	if openIDs[shopApp] == openIDs[staffApp] {
		t.Fatal("one openid in two apps")
	}
	// A token of the shop is no token for the staff app.
	resp, _ := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Method: "GET", Path: "/api/v1/me", Token: tokens[shopApp], Header: referer(staffApp)})
	if resp.Envelope.Code != 2 {
		t.Fatalf("a shop token for the staff app: %+v", resp.Envelope)
	}
	// No app named with two served: code 1; an app not served: code 1.
	for name, h := range map[string]http.Header{
		"none":         {},
		"another site": {"Referer": {"https://evil.example/" + shopApp + "/1/page-frame.html"}},
		"unknown app":  {"X-WX-AppID": {"wxnotours"}},
		"odd appid":    {"Referer": {"https://servicewechat.com/wx..%2Fx/1/page-frame.html"}},
		"path trick":   {"Referer": {"https://servicewechat.com/" + shopApp + "/../x/page-frame.html"}},
	} {
		resp, _ := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Method: "GET", Path: "/api/v1/me", Token: tokens[shopApp], Header: h})
		if resp.Envelope.Code != 1 {
			t.Errorf("%s: %+v, want code 1", name, resp.Envelope)
		}
	}
	// The developer is told how to name the app, and which are served: a
	// login without a Referer (wxsim, curl) and a token route naming
	// another app.
	code, _ := ep.Multi.App(shopApp).Login(ctx, "dee")
	noApp, _ := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Path: "/api/v1/login", Fields: []apiclient.Field{{Name: "code", Value: code}}})
	unknown, _ := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Method: "GET", Path: "/api/v1/me", Token: tokens[shopApp],
		Header: http.Header{"X-WX-AppID": {"wxnotours"}}})
	for _, e := range []apiclient.Raw{noApp.Envelope, unknown.Envelope} {
		served := strings.Join(slices.Sorted(slices.Values([]string{shopApp, staffApp})), ", ")
		if e.Code != 1 || !strings.Contains(e.Detail, "https://servicewechat.com/<appid>/<version>/page-frame.html") ||
			!strings.Contains(e.Detail, "X-WX-AppID") || !strings.HasSuffix(e.Detail, "served: "+served) {
			t.Errorf("the missing or unknown app's answer: %+v", e)
		}
	}
	if noApp.Envelope.Msg != domain.MsgMissing {
		t.Errorf("no app named: msg %q, want the contract's", noApp.Envelope.Msg)
	}
	// The staff app has limits of its own: its third login from this
	// address is code 7, while the shop's limit is the default.
	loginTo := func(app, user string) int {
		code, _ := ep.Multi.App(app).Login(ctx, user)
		resp, _ := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Path: "/api/v1/login",
			Fields: []apiclient.Field{{Name: "code", Value: code}}, Header: referer(app)})
		return resp.Envelope.Code
	}
	if got := []int{loginTo(staffApp, "bo"), loginTo(staffApp, "cy")}; got[0] != 0 || got[1] != 7 {
		t.Fatalf("staff logins 2 and 3: codes %v, want 0 and 7", got)
	}
	if got := loginTo(shopApp, "bo"); got != 0 {
		t.Fatalf("a shop login after the staff app's limit: code %d", got)
	}

	// The same person in both apps: each profile links the other account.
	var me apiclient.Profile
	resp, _ = apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Method: "GET", Path: "/api/v1/me", Token: tokens[shopApp], Header: referer(shopApp)})
	if err := resp.Decode(&me); err != nil || len(me.LinkedAccounts) != 1 ||
		me.LinkedAccounts[0] != (apiclient.Account{AppID: staffApp, OpenID: openIDs[staffApp]}) {
		t.Fatalf("linked accounts: %+v, %v", me.LinkedAccounts, err)
	}
}

// twoApps is the configuration of a server in sandbox mode with two apps
// from an apps file: the shop, and the staff app with a login limit of 2.
func twoApps(t *testing.T) config.Config {
	t.Helper()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "staff.secret")
	if err := os.WriteFile(secretFile, []byte("staff-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	appsFile := filepath.Join(dir, "apps.toml")
	if err := os.WriteFile(appsFile, []byte(`
[[app]]
appid = "`+shopApp+`"
secret = "shop-secret"
name = "shop"

[[app]]
appid = "`+staffApp+`"
secret_file = "`+secretFile+`"
name = "staff"
login_per_minute = 2
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{"--apps-file", appsFile}, func(string) (string, bool) { return "", false }, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
