// Command wxbackend serves the WeChat mini-program backend.
//
//	wxbackend [flags]           serve
//	wxbackend migrate [flags]   bring the database schema up to date and exit
//	wxbackend config [flags]    print the configuration, secrets redacted
//	wxbackend settings          print the table of every setting (Markdown, as in the README)
//
// Every flag has an environment variable (WXB_…); see -help. The server is
// assembled in ./wiring, the composition root.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wxbackend:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "migrate" || args[0] == "config" || args[0] == "serve" || args[0] == "settings") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "settings" {
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
