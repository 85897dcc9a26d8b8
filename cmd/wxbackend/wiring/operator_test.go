package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
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
			if out := run(wiring.OperatorCommand{Verb: "users show", Target: login.User.OpenID}); !strings.Contains(out, "no user found") {
				t.Fatalf("show after delete:\n%s", out)
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
