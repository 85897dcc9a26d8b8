// Package miniprogram_test runs the example mini-program (JavaScript, in
// this directory) against a live backend: it starts wxbackend in sandbox
// mode, as make run does, then the Node harness in test/, and finally checks
// that the profile the example shared is in the database, emoji intact.
package miniprogram_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/testenv"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/internal/sim/echo"
	"wxbackend/internal/sim/sandbox"
)

func TestExampleMiniProgramAgainstALiveBackend(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unreachable(t, "Node.js (node, 20 or later)", err)
	}
	dbFile := filepath.Join(t.TempDir(), "example.db")
	// The demo's echo service behind the gateway at /app/, as make run
	// puts it, for the service page.
	echoSrv := httptest.NewServer(echo.Handler())
	t.Cleanup(echoSrv.Close)
	gatewayFile := filepath.Join(t.TempDir(), "gateway.toml")
	if err := os.WriteFile(gatewayFile, []byte("[[upstream]]\nname = \"echo\"\nprefix = \"/app/\"\nurl = \""+echoSrv.URL+"\"\nstrip_prefix = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, sb := wiringtest.StartSandboxed(t, func(c *config.Config) {
		c.DB.DSN = sqlstore.DSN("file:" + dbFile)
		c.Gateway.File = gatewayFile
		if errs := setting.Check(&c.Gateway); len(errs) > 0 {
			t.Fatal(errs)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	user := fmt.Sprintf("example-%d", time.Now().UnixNano())
	today := fmt.Sprintf("today-%d", time.Now().UnixNano())
	subscriber := fmt.Sprintf("subscriber-%d", time.Now().UnixNano())
	cmd := exec.CommandContext(ctx, node, "--test", "test/miniprogram.test.js")
	cmd.Env = append(os.Environ(),
		"WXB_BACKEND_URL="+base, "WXB_SANDBOX_URL="+sb.URL, "WXB_GATEWAY=1", "WXB_EXAMPLE_USER="+user, "WXB_EXAMPLE_PROFILE_USER="+today, "WXB_EXAMPLE_SUBSCRIBE_USER="+subscriber)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)

	u, err := sb.Sandbox.User(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+dbFile+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var nick, city string
	if err := db.QueryRow("SELECT nick_name, city FROM wx_users WHERE app_id = ? AND open_id = ?", sb.Sandbox.AppID(), u.OpenID).Scan(&nick, &city); err != nil {
		t.Fatalf("the example's user in the database: %v", err)
	}
	if nick != "Page 🐢 小程序 ✨" || city != "杭州" {
		t.Fatalf("database holds %q in %q", nick, city)
	}
	// The profile page's user: the nickname typed and the avatar uploaded.
	tu, err := sb.Sandbox.User(ctx, today)
	if err != nil {
		t.Fatal(err)
	}
	var avatar, phone string
	var sources int
	if err := db.QueryRow("SELECT nick_name, avatar_object, user_fields, pure_phone_number FROM wx_users WHERE app_id = ? AND open_id = ?",
		sb.Sandbox.AppID(), tu.OpenID).Scan(&nick, &avatar, &sources, &phone); err != nil {
		t.Fatalf("the profile page's user in the database: %v", err)
	}
	if nick != "Today 🌅 今天" || len(avatar) != 68 || sources != 3 || phone != sandbox.PhoneOf(today) {
		t.Fatalf("database holds %q, avatar %q, sources %b, phone %s", nick, avatar, sources, domain.MaskPhone(phone))
	}
	// The subscription the profile page asked for: in the ledger, and
	// WeChat (the sandbox) allows the one message too.
	su, err := sb.Sandbox.User(ctx, subscriber)
	if err != nil {
		t.Fatal(err)
	}
	var status string
	var remaining int
	if err := db.QueryRow("SELECT status, remaining FROM wx_subscriptions WHERE app_id = ? AND open_id = ? AND template_id = ?",
		sb.Sandbox.AppID(), su.OpenID, "wxsimOrderShippedTemplate").Scan(&status, &remaining); err != nil {
		t.Fatalf("the subscription in the database: %v", err)
	}
	if status != domain.SubscribeAccept || remaining != 1 || sb.Sandbox.Allowed(su.OpenID, "wxsimOrderShippedTemplate") != 1 {
		t.Fatalf("the ledger holds %s with %d left; the sandbox allows %d", status, remaining, sb.Sandbox.Allowed(su.OpenID, "wxsimOrderShippedTemplate"))
	}
}
