package wiring_test

import (
	"bytes"
	"context"
	"database/sql"
	"image/jpeg"
	"io"
	"net/http"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/internal/sim/sandbox"
)

// TestE2E_TodaysProfileFlowOnEveryDatabase is today's WeChat end to end on
// SQLite, MariaDB and PostgreSQL: an anonymous getUserInfo changes nothing,
// the avatar the user chose is uploaded, stripped of its EXIF GPS and served
// by this server, the nickname typed is saved, and a later anonymous
// getUserInfo erases neither.
func TestE2E_TodaysProfileFlowOnEveryDatabase(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			db := d.db(t)
			s := startServer(t, func(c *config.Config) { c.DB = db })
			ctx := context.Background()
			api := apiclient.New(s.base, nil)
			code, err := s.sb.Login(ctx, "today")
			if err != nil {
				t.Fatal(err)
			}
			login, _, err := api.Login(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			anonymous := func() apiclient.Profile {
				t.Helper()
				info, err := s.sb.GetUserInfo(ctx, "today")
				if err != nil {
					t.Fatal(err)
				}
				p, _, err := api.SaveUserInfo(ctx, login.Token, apiclient.UserInfo{EncryptedData: info.EncryptedData, IV: info.IV,
					RawData: info.RawData, Signature: info.Signature})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			if p := anonymous(); p.NickName != "" || p.AvatarURL != "" {
				t.Fatalf("an anonymous getUserInfo saved %+v", p)
			}
			photo, _ := s.sb.ChooseAvatar(ctx, "today")
			p, _, err := api.UploadAvatar(ctx, login.Token, "tmp.jpg", photo)
			if err != nil {
				t.Fatal(err)
			}
			p, _, err = api.EditProfile(ctx, login.Token, apiclient.Field{Name: "nickName", Value: "Today 🌅 今天"})
			if err != nil || p.NickName != "Today 🌅 今天" {
				t.Fatalf("nickname: %+v, %v", p, err)
			}
			if again := anonymous(); again.NickName != p.NickName || again.AvatarURL != p.AvatarURL {
				t.Fatalf("a later anonymous getUserInfo changed %+v into %+v", p, again)
			}
			resp, err := http.Get(p.AvatarURL)
			if err != nil {
				t.Fatal(err)
			}
			img, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if cfg, err := jpeg.DecodeConfig(bytes.NewReader(img)); resp.StatusCode != 200 || err != nil || cfg.Width != 256 {
				t.Fatalf("the avatar: HTTP %d, %v %v", resp.StatusCode, cfg, err)
			}
			if bytes.Contains(img, []byte(sandbox.GPSMarker)) {
				t.Fatal("the served avatar carries the phone's GPS position")
			}
			if got := storedNick(t, db.Driver, db.DSN.Reveal(), login.User.OpenID); got != "Today 🌅 今天" {
				t.Fatalf("database holds %q", got)
			}
			var sources int
			var object string
			conn, err := sql.Open(db.Driver, db.DSN.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			q := "SELECT user_fields, avatar_object FROM wx_users WHERE open_id = ?"
			if db.Driver == "postgres" {
				q = "SELECT user_fields, avatar_object FROM wx_users WHERE open_id = $1"
			}
			if err := conn.QueryRow(q, login.User.OpenID).Scan(&sources, &object); err != nil || sources != 3 || object == "" {
				t.Fatalf("sources %b, object %q, %v", sources, object, err)
			}
		})
	}
}
