package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

// The operator's commands on the server's own stores: MariaDB or
// PostgreSQL, Redis sessions, avatars on disk.
func TestOperator_UsersAndSessionsOnTheRealStores(t *testing.T) {
	for _, d := range databases[1:] { // mysql, postgres
		t.Run(d.name, func(t *testing.T) {
			db := d.db(t)
			sess, rc := redisSessions(t)
			s := startServer(t, func(c *config.Config) { c.DB, c.Sessions, c.Redis = db, sess, rc })
			ctx := context.Background()
			api := apiclient.New(s.base, nil)
			code, _ := s.sb.Login(ctx, "support-case")
			login, _, err := api.Login(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			phoneCode, _ := s.sb.PhoneCode(ctx, "support-case")
			if _, _, err := api.SharePhone(ctx, login.Token, phoneCode); err != nil {
				t.Fatal(err)
			}
			p, _, err := api.UploadAvatar(ctx, login.Token, "a.jpg", sandbox.ChosenAvatar("support-case"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := s.cfg
			run := func(cmd wiring.OperatorCommand) string {
				t.Helper()
				var out bytes.Buffer
				cmd.Out = &out
				if err := wiring.RunOperator(cfg, cmd); err != nil {
					t.Fatalf("%s %s: %v", cmd.Verb, cmd.Target, err)
				}
				return out.String()
			}
			number := sandbox.PhoneOf("support-case")
			for _, q := range []string{login.User.OpenID, number} {
				out := run(wiring.OperatorCommand{Verb: "users show", Target: q})
				if !strings.Contains(out, login.User.OpenID) || strings.Contains(out, number) || !strings.Contains(out, number[:3]+"****"+number[7:]) {
					t.Fatalf("show %s:\n%s", q, out)
				}
			}
			var rows []map[string]any
			if err := json.Unmarshal([]byte(run(wiring.OperatorCommand{Verb: "users show", Target: number, JSON: true, Reveal: true})), &rows); err != nil ||
				len(rows) != 1 || rows[0]["phone"] != number {
				t.Fatalf("show --json --reveal: %v %v", rows, err)
			}
			if out := run(wiring.OperatorCommand{Verb: "sessions count"}); !strings.HasPrefix(out, "1 live sessions") {
				t.Fatalf("sessions count: %s", out)
			}
			run(wiring.OperatorCommand{Verb: "users logout", Target: login.User.OpenID})
			if _, resp, _ := api.Me(ctx, login.Token); resp.Envelope.Code != 2 {
				t.Fatalf("me after users logout: %+v", resp.Envelope)
			}
			avatarFile := cfg.Disk.Dir + "/" + p.AvatarURL[strings.LastIndex(p.AvatarURL, "/")+1:][:2] + "/" + p.AvatarURL[strings.LastIndex(p.AvatarURL, "/")+1:]
			if _, err := os.Stat(avatarFile); err != nil {
				t.Fatalf("the avatar before delete: %v", err)
			}
			run(wiring.OperatorCommand{Verb: "users delete", Target: login.User.OpenID})
			var shown bytes.Buffer
			if err := wiring.RunOperator(cfg, wiring.OperatorCommand{Verb: "users show", Target: login.User.OpenID, Out: &shown}); !errors.Is(err, wiring.ErrNotFound) ||
				!strings.Contains(err.Error(), "no user "+login.User.OpenID) || shown.Len() != 0 {
				t.Fatalf("show after delete: %v\n%s", err, shown.String())
			}
			if _, err := os.Stat(avatarFile); !os.IsNotExist(err) {
				t.Fatalf("the avatar after delete: %v", err)
			}
			var out bytes.Buffer
			if err := wiring.RunOperator(cfg, wiring.OperatorCommand{Verb: "users delete", Target: login.User.OpenID, Out: &out}); err == nil {
				t.Fatal("deleting a deleted user succeeded")
			}
		})
	}
}

// With an apps file, every command acts on the app named by --app, and one
// that needs an app says so when none is named: a user of the second app
// loses their token to users logout, the first app's user keeps theirs.
func TestOperator_TwoAppsActOnTheNamedApp(t *testing.T) {
	cfg := twoApps(t)
	sess, rc := redisSessions(t)
	cfg.DB, cfg.Sessions, cfg.Redis = sqliteDB(t), sess, rc
	ep := wiringtest.StartSandbox(t, &cfg)
	s := launch(t, cfg)
	ctx := context.Background()
	type account struct{ token, openID string }
	logIn := func(app, user string) account {
		t.Helper()
		code, _ := ep.Multi.App(app).Login(ctx, user)
		resp, err := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Path: "/api/v1/login",
			Fields: []apiclient.Field{{Name: "code", Value: code}}, Header: http.Header{"X-WX-AppID": {app}}})
		var login apiclient.Login
		if err != nil || resp.Decode(&login) != nil || login.Token == "" {
			t.Fatalf("%s login: %+v %v", app, resp.Envelope, err)
		}
		return account{login.Token, login.User.OpenID}
	}
	meCode := func(app string, a account) int {
		t.Helper()
		resp, _ := apiclient.New(s.base, nil).Do(ctx, apiclient.Request{Method: "GET", Path: "/api/v1/me", Token: a.token,
			Header: http.Header{"X-WX-AppID": {app}}})
		return resp.Envelope.Code
	}
	shop, staff := logIn(shopApp, "ada"), logIn(staffApp, "ada")
	run := func(cmd wiring.OperatorCommand) (string, error) {
		var out bytes.Buffer
		cmd.Out = &out
		err := wiring.RunOperator(s.cfg, cmd)
		return out.String(), err
	}

	// No --app with two apps: each user command names the problem and the fix.
	for _, verb := range []string{"users show", "users logout", "users delete"} {
		if _, err := run(wiring.OperatorCommand{Verb: verb, Target: staff.openID}); err == nil ||
			!strings.Contains(err.Error(), "--app") || !strings.Contains(err.Error(), shopApp) || !strings.Contains(err.Error(), staffApp) {
			t.Fatalf("%s without --app: %v", verb, err)
		}
	}
	if _, err := run(wiring.OperatorCommand{Verb: "users show", Target: staff.openID, App: "wxnotours"}); err == nil || !strings.Contains(err.Error(), "not a configured app") {
		t.Fatalf("an unknown --app: %v", err)
	}

	out, err := run(wiring.OperatorCommand{Verb: "users show", Target: staff.openID, App: staffApp})
	if err != nil || !strings.Contains(out, staffApp) || !strings.Contains(out, staff.openID) {
		t.Fatalf("show in the staff app: %v\n%s", err, out)
	}
	if out, err := run(wiring.OperatorCommand{Verb: "users show", Target: staff.openID, App: shopApp}); !errors.Is(err, wiring.ErrNotFound) || out != "" {
		t.Fatalf("the staff user shown in the shop: %v\n%s", err, out)
	}
	if out, err := run(wiring.OperatorCommand{Verb: "sessions count"}); err != nil || !strings.HasPrefix(out, "2 live sessions") {
		t.Fatalf("sessions count: %v %s", err, out)
	}

	if _, err := run(wiring.OperatorCommand{Verb: "users logout", Target: "oNobodyAtAll", App: staffApp}); !errors.Is(err, wiring.ErrNotFound) || !strings.Contains(err.Error(), "no user oNobodyAtAll") {
		t.Fatalf("users logout of no user: %v", err)
	}
	if _, err := run(wiring.OperatorCommand{Verb: "users logout", Target: staff.openID, App: staffApp}); err != nil {
		t.Fatal(err)
	}
	if got := meCode(staffApp, staff); got != 2 {
		t.Fatalf("the staff token after users logout: code %d, want 2", got)
	}
	if got := meCode(shopApp, shop); got != 0 {
		t.Fatalf("the shop token after the staff user's logout: code %d, want 0", got)
	}

	if _, err := run(wiring.OperatorCommand{Verb: "users delete", Target: shop.openID, App: staffApp}); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Fatalf("deleting the shop user in the staff app: %v", err)
	}
	if _, err := run(wiring.OperatorCommand{Verb: "users delete", Target: shop.openID, App: shopApp}); err != nil {
		t.Fatal(err)
	}
	if out, err := run(wiring.OperatorCommand{Verb: "users show", Target: shop.openID, App: shopApp}); !errors.Is(err, wiring.ErrNotFound) {
		t.Fatalf("the shop user after delete: %v\n%s", err, out)
	}
	if got := meCode(shopApp, shop); got != 2 {
		t.Fatalf("the deleted shop user's token: code %d, want 2", got)
	}
	if out, err := run(wiring.OperatorCommand{Verb: "users show", Target: staff.openID, App: staffApp}); err != nil || !strings.Contains(out, staff.openID) {
		t.Fatalf("the staff user after the shop user's delete: %v\n%s", err, out)
	}
}
