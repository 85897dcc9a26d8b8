// Command wxbackend serves the WeChat mini-program backend.
//
//	wxbackend [flags]           serve
//	wxbackend migrate [flags]   bring the database schema up to date and exit
//	wxbackend config [flags]    print the configuration, secrets redacted
//	wxbackend users show <openid|phone|unionid> [--json] [--reveal]   find users (phones masked unless --reveal)
//	wxbackend users logout <openid>     end every session of a user (Redis sessions)
//	wxbackend users delete <openid>     erase a user: sessions, avatar, row
//	wxbackend sessions count            about how many sessions are live (Redis sessions)
//	wxbackend avatars collect [--json] [--dry-run] [--force]
//	                                    delete stored avatars no user has, older than
//	                                    WXB_AVATAR_COLLECT_GRACE (the server also does, hourly);
//	                                    refuses when most would go, unless --force
//	wxbackend logout <openid>           the same as users logout
//	wxbackend keys new -name <name> -scope introspect[,openapi,messages] [-app <appid>]
//	                                    a fresh API key of the internal listener, printed
//	                                    once, and the [[key]] block of its digest to append
//	                                    to WXB_INTERNAL_KEYS_FILE
//	wxbackend keys list                 the names, scopes and apps of the keys file
//	wxbackend messages list [--status S] [--app A] [--limit N] [--json]
//	                                    subscribe messages of the outbox, newest first
//	wxbackend messages show <id> [--json]   one message and what became of it
//	wxbackend messages retry <id>       a failed or given-up message queued again
//
// The users commands take --app <appid>, required when several apps are
// configured (an apps file).
//
//	wxbackend settings          print the table of every setting (Markdown, as in the README)
//	wxbackend settings -readme README.md   rewrite that table in the README (make readme)
//
// Every flag has an environment variable (WXB_…); see -help. The server is
// assembled in ./wiring, the composition root.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"go.uber.org/fx"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
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
	if len(args) > 0 && args[0] == "logout" { // the older spelling of users logout
		args = append([]string{"users"}, args...)
	}
	if len(args) > 0 && (args[0] == "users" || args[0] == "sessions" || args[0] == "avatars") {
		return operator(args)
	}
	if len(args) > 0 && args[0] == "events" { // WeChat's pushed events (events.go)
		return events(args)
	}
	if len(args) > 0 && args[0] == "messages" { // subscribe messages' outbox (messages.go)
		return messages(args)
	}
	if len(args) > 0 && args[0] == "keys" {
		return wiring.RunKeys(args[1:], os.LookupEnv, os.Stdout, os.Stderr)
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
		return wiring.Migrate(cfg, os.Stdout)
	}
	limitMemory(cfg.Runtime.MemoryLimit, os.LookupEnv)
	app := fx.New(wiring.Options(cfg, os.Stderr), fx.StopTimeout(cfg.Server.ShutdownTimeout+5*time.Second))
	app.Run() // until SIGINT or SIGTERM, then a graceful stop
	return app.Err()
}

// operator runs "users show|logout|delete <target>", "sessions count" and
// "avatars collect", with --json and --reveal among the configuration's
// flags.
func operator(args []string) error {
	const usage = "usage: wxbackend users show <openid|phone|unionid> | users logout <openid> | users delete <openid> | sessions count | avatars collect [--dry-run] [--force]  [--app <appid>] [--json] [--reveal] [flags]"
	cmd := wiring.OperatorCommand{Out: os.Stdout, Log: os.Stderr}
	switch {
	case len(args) >= 2 && args[0] == "sessions" && args[1] == "count":
		cmd.Verb, args = "sessions count", args[2:]
	case len(args) >= 2 && args[0] == "avatars" && args[1] == "collect":
		cmd.Verb, args = "avatars collect", args[2:]
	case len(args) >= 3 && args[0] == "users" && (args[1] == "show" || args[1] == "logout" || args[1] == "delete") && !strings.HasPrefix(args[2], "-"):
		cmd.Verb, cmd.Target, args = "users "+args[1], args[2], args[3:]
	default:
		return errors.New(usage)
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--json" || a == "-json":
			cmd.JSON = true
		case a == "--reveal" || a == "-reveal":
			cmd.Reveal = true
		case a == "--dry-run" || a == "-dry-run":
			cmd.DryRun = true
		case a == "--force" || a == "-force":
			cmd.Force = true
		case a == "--app" || a == "-app":
			if i+1 == len(args) {
				return errors.New("--app needs an appid")
			}
			i++
			cmd.App = args[i]
		case strings.HasPrefix(a, "--app=") || strings.HasPrefix(a, "-app="):
			cmd.App = a[strings.IndexByte(a, '=')+1:]
		default:
			rest = append(rest, a)
		}
	}
	cfg, err := config.Load(rest, os.LookupEnv, os.Stderr)
	if err != nil {
		return err
	}
	return wiring.RunOperator(cfg, cmd)
}

// limitMemory sets the Go runtime's soft memory limit to limit bytes
// (WXB_MEMORY_LIMIT) and reports whether it did: not when limit is 0, nor
// when the environment has GOMEMLIMIT, which the runtime has read itself
// and which an operator set on purpose.
func limitMemory(limit int64, env func(string) (string, bool)) bool {
	if _, set := env("GOMEMLIMIT"); set || limit <= 0 {
		return false
	}
	debug.SetMemoryLimit(limit)
	return true
}
