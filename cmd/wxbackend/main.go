// Command wxbackend serves the WeChat mini-program backend.
//
//	wxbackend [flags]           serve
//	wxbackend migrate [flags]   bring the database schema up to date and exit
//	wxbackend config [flags]    print the configuration, secrets redacted
//	wxbackend logout <openid> [flags]   end every session of a user (Redis sessions)
//	wxbackend settings          print the table of every setting (Markdown, as in the README)
//	wxbackend settings -readme README.md   rewrite that table in the README (make readme)
//
// Every flag has an environment variable (WXB_…); see -help. The server is
// assembled in ./wiring, the composition root.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/system"
	"wxbackend/adapters/wechat/sandbox"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/config"
	"wxbackend/domain"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wxbackend:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "migrate" || args[0] == "config" || args[0] == "serve" || args[0] == "settings" || args[0] == "logout") {
		cmd, args = args[0], args[1:]
	}
	var openID string
	if cmd == "logout" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return errors.New("usage: wxbackend logout <openid> [flags]: ends every session of the user (log out everywhere)")
		}
		openID, args = args[0], args[1:]
	}
	if cmd == "settings" {
		if len(args) == 2 && args[0] == "-readme" {
			return config.WriteREADME(args[1])
		}
		fmt.Print(config.Markdown())
		return nil
	}
	cfg, err := config.Load(args, os.LookupEnv, os.Stderr)
	if err != nil {
		return err
	}
	switch cmd {
	case "config":
		fmt.Println(cfg)
		return nil
	case "migrate":
		return migrate(cfg)
	case "logout":
		return logoutEverywhere(cfg, openID, os.Stdout)
	}
	app := fx.New(wiring.Options(cfg, os.Stderr), fx.StopTimeout(cfg.Server.ShutdownTimeout+5*time.Second))
	app.Run() // until SIGINT or SIGTERM, then a graceful stop
	return app.Err()
}

func migrate(cfg config.Config) error {
	st, err := sqlstore.Open(cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s schema at version %d\n", cfg.DB.Driver, v)
	return nil
}

// logoutEverywhere ends every session of a user of the configured app, for
// an operator (a stolen phone, a support request). Sessions kept in a
// server's memory are out of reach of another process: it needs Redis
// sessions (a user can still log out everywhere through the API).
func logoutEverywhere(cfg config.Config, openID string, out io.Writer) error {
	if cfg.Sessions.Store != "redis" {
		return errors.New("logout: the memory session store lives inside the server's process; " +
			"with WXB_SESSION_STORE=memory, restart the server or have the user call POST /api/v1/logout with all=true")
	}
	appID := cfg.WeChat.AppID
	if cfg.Sandbox.Enabled {
		appID = sandbox.DefaultAppID
	}
	st, err := redisstore.NewSessionStore(cfg.Redis, 0, 0, system.Clock{})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.DeleteAll(ctx, domain.Identity{AppID: appID, OpenID: openID}); err != nil {
		return err
	}
	fmt.Fprintf(out, "every session of %s in %s ended\n", openID, appID)
	return nil
}
