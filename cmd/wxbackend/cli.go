package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
)

// cli holds what every command writes to and reads settings from.
type cli struct {
	env            func(string) (string, bool)
	stdout, stderr io.Writer
}

const rootLong = `wxbackend serves the WeChat mini-program backend: with no command (or with
"serve") it serves until SIGINT or SIGTERM. The other commands are the
operator's, built from the server's own modules and configuration: they act
on the server's stores and apps, and read and check only the settings they use.

Every setting is a flag (--db-dsn) and an environment variable (WXB_DB_DSN);
flags win. Flags may come before or after arguments.

Exit status: 0 done; 1 not found (the user or event asked about is not there);
2 anything else (a wrong command line or setting, a failed start, a store that
does not answer).`

func newRoot(env func(string) (string, bool), stdout, stderr io.Writer) *cobra.Command {
	c := cli{env: env, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "wxbackend",
		Short:         "the WeChat mini-program backend, and its operator's commands",
		Long:          rootLong,
		Args:          cobra.NoArgs,
		SilenceErrors: true, // run prints them, one line each
		SilenceUsage:  true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	flags := config.Bind(root.Flags(), config.Serving, env)
	root.RunE = act(func(*cobra.Command, []string) error { return c.serve(flags) })
	root.AddGroup(&cobra.Group{ID: "serve", Title: "Serving:"}, &cobra.Group{ID: "operate", Title: "Operating (on the server's stores):"})

	serve := &cobra.Command{Use: "serve", Short: "serve until SIGINT or SIGTERM (the same as no command)", Args: cobra.NoArgs, GroupID: "serve"}
	serveFlags := config.Bind(serve.Flags(), config.Serving, env)
	serve.RunE = act(func(*cobra.Command, []string) error { return c.serve(serveFlags) })

	migrate := &cobra.Command{Use: "migrate", Short: "bring the user database's schema up to date and exit", Args: cobra.NoArgs, GroupID: "serve"}
	migrateFlags := config.Bind(migrate.Flags(), config.Database, env)
	migrate.RunE = act(func(*cobra.Command, []string) error {
		cfg, err := migrateFlags.Config()
		if err != nil {
			return err
		}
		return storeFailure(cfg, wiring.Migrate(cfg, stdout))
	})

	cfgCmd := &cobra.Command{Use: "config", Short: "check every setting as the server would, and print them, secrets redacted", Args: cobra.NoArgs, GroupID: "serve"}
	cfgFlags := config.Bind(cfgCmd.Flags(), config.Serving, env)
	cfgCmd.RunE = act(func(*cobra.Command, []string) error {
		cfg, err := cfgFlags.Config()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, cfg)
		return nil
	})

	settings := &cobra.Command{Use: "settings", Short: "print the table of every setting (Markdown, as in the README)", Args: cobra.NoArgs, GroupID: "serve"}
	readme := settings.Flags().String("readme", "", "rewrite the settings table of this README file instead (make readme)")
	settings.RunE = act(func(*cobra.Command, []string) error {
		if *readme != "" {
			return config.WriteREADME(*readme)
		}
		fmt.Fprint(stdout, config.Markdown())
		return nil
	})

	root.AddCommand(serve, migrate, cfgCmd, settings, c.users(), c.logout(), c.sessions(), c.avatars(), c.events(), c.messages(), c.keys())
	return root
}

// storeFailure is err, or the line naming the store that failed and what
// to do about it (explainStore); with WXB_DEBUG, err whole.
func storeFailure(cfg config.Config, err error) error {
	if err == nil || errors.Is(err, wiring.ErrNotFound) || cfg.Log.Debug {
		return err
	}
	if explained := explainStore(cfg, err); explained != nil {
		return explained
	}
	return err
}

// act makes run a command's RunE whose errors are the command's own
// failures, not the command line's.
func act(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := run(cmd, args); err != nil {
			return commandError{err}
		}
		return nil
	}
}

// group makes cmd a command of subcommands: run alone or with an unknown
// subcommand, it says which there are (cobra would print its help and exit 0).
func group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(subs...)
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		if len(args) > 0 {
			return fmt.Errorf("unknown command %q for %q (%s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
		}
		return fmt.Errorf("%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
	}
	return cmd
}

// operator makes a users, sessions or avatars command: verb run by
// wiring.RunOperator on the server's stores, with the target argument
// when args asks for one; flags adds the command's own flags.
func (c cli) operator(use, short, verb string, args cobra.PositionalArgs, flags func(cmd *cobra.Command, o *wiring.OperatorCommand)) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: args}
	o := &wiring.OperatorCommand{Verb: verb}
	if flags != nil {
		flags(cmd, o)
	}
	settings := config.Bind(cmd.Flags(), config.Users, c.env)
	cmd.RunE = act(func(_ *cobra.Command, args []string) error {
		cfg, err := settings.Config()
		if err != nil {
			return err
		}
		run := *o
		if len(args) > 0 {
			run.Target = args[0]
		}
		run.Out, run.Log = c.stdout, c.stderr
		return storeFailure(cfg, wiring.RunOperator(cfg, run))
	})
	return cmd
}

// appFlag adds --app, the app a user belongs to.
func appFlag(cmd *cobra.Command, o *wiring.OperatorCommand) {
	cmd.Flags().StringVar(&o.App, "app", "", "the user's app (appid): required when several apps are configured, or none")
}

func (c cli) users() *cobra.Command {
	show := c.operator("show <openid|phone|unionid>", "find users by openid, phone number or unionid (phones masked unless --reveal); exit status 1 if none",
		"users show", cobra.ExactArgs(1), func(cmd *cobra.Command, o *wiring.OperatorCommand) {
			appFlag(cmd, o)
			cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON, the data as stored")
			cmd.Flags().BoolVar(&o.Reveal, "reveal", false, "print phone numbers whole")
		})
	logout := c.operator("logout <openid>", "end every session of a user, on every device (Redis sessions); exit status 1 if no such user",
		"users logout", cobra.ExactArgs(1), appFlag)
	del := c.operator("delete <openid>", "erase a user: sessions, uploaded avatar and row (a deletion request); exit status 1 if no such user",
		"users delete", cobra.ExactArgs(1), appFlag)
	return group(&cobra.Command{Use: "users", Short: "find, log out and delete users", GroupID: "operate"}, show, logout, del)
}

// logout is the older spelling of users logout.
func (c cli) logout() *cobra.Command {
	cmd := c.operator("logout <openid>", "the same as users logout", "users logout", cobra.ExactArgs(1), appFlag)
	cmd.Hidden = true
	return cmd
}

func (c cli) sessions() *cobra.Command {
	count := c.operator("count", "about how many sessions are live (Redis sessions)", "sessions count", cobra.NoArgs,
		func(cmd *cobra.Command, o *wiring.OperatorCommand) {
			cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
		})
	return group(&cobra.Command{Use: "sessions", Short: "count live sessions", GroupID: "operate"}, count)
}

func (c cli) avatars() *cobra.Command {
	collect := c.operator("collect", "delete stored avatars no user has, older than WXB_AVATAR_COLLECT_GRACE (the server also does, every WXB_AVATAR_COLLECT_INTERVAL); refuses when most would go, unless --force",
		"avatars collect", cobra.NoArgs, func(cmd *cobra.Command, o *wiring.OperatorCommand) {
			cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
			cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "count, delete nothing")
			cmd.Flags().BoolVar(&o.Force, "force", false, "delete even when more than half of the stored avatars would go")
		})
	return group(&cobra.Command{Use: "avatars", Short: "collect stored avatars no user has", GroupID: "operate"}, collect)
}

func (c cli) events() *cobra.Command {
	event := func(use, short, verb string, args cobra.PositionalArgs, flags func(cmd *cobra.Command, e *wiring.EventsCommand)) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: args}
		e := &wiring.EventsCommand{Verb: verb}
		cmd.Flags().BoolVar(&e.JSON, "json", false, "print JSON")
		if flags != nil {
			flags(cmd, e)
		}
		settings := config.Bind(cmd.Flags(), config.Events, c.env)
		cmd.RunE = act(func(_ *cobra.Command, args []string) error {
			cfg, err := settings.Config()
			if err != nil {
				return err
			}
			run := *e
			if len(args) > 0 {
				run.Target = args[0]
			}
			run.Out, run.Log = c.stdout, c.stderr
			return storeFailure(cfg, wiring.RunEvents(cfg, run))
		})
		return cmd
	}
	list := event("list", "WeChat's pushed events, newest first, 100 at most", "events list", cobra.NoArgs,
		func(cmd *cobra.Command, e *wiring.EventsCommand) {
			cmd.Flags().StringVar(&e.App, "app", "", "only this app's (appid)")
			cmd.Flags().StringVar(&e.State, "state", "", "only events in this state: pending, done or dead")
			_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions([]string{"pending", "done", "dead"}, cobra.ShellCompDirectiveNoFileComp))
		})
	show := event("show <id>", "an event: its payload, attempts and last error; exit status 1 if no such event", "events show", cobra.ExactArgs(1), nil)
	replay := event("replay <id>", "a dead event pending again: a running server delivers it anew; exit status 1 if no such event", "events replay", cobra.ExactArgs(1), nil)
	return group(&cobra.Command{Use: "events", Short: "list, show and replay the events WeChat pushed (the inbox)", GroupID: "operate"}, list, show, replay)
}

func (c cli) keys() *cobra.Command {
	newKey := &cobra.Command{Use: "new", Short: "a fresh API key of the internal listener, printed once, and the [[key]] block of its digest to append to WXB_INTERNAL_KEYS_FILE", Args: cobra.NoArgs}
	k := wiring.NewKeyCommand{Out: c.stdout}
	newKey.Flags().StringVar(&k.Name, "name", "", "who holds the key (a service): logs and metrics show this name (required)")
	newKey.Flags().StringVar(&k.Scopes, "scope", "", "what the key may do, comma-separated: introspect, openapi, messages (required)")
	newKey.Flags().StringVar(&k.Apps, "app", "", "the appids it may act for, comma-separated (empty: every app)")
	_ = newKey.MarkFlagRequired("name")
	_ = newKey.MarkFlagRequired("scope")
	newKey.RunE = act(func(*cobra.Command, []string) error { return wiring.NewKey(k) })

	list := &cobra.Command{Use: "list", Short: "the names, scopes and apps of the keys file (WXB_INTERNAL_KEYS_FILE)", Args: cobra.NoArgs}
	settings := config.Bind(list.Flags(), config.Keys, c.env)
	list.RunE = act(func(*cobra.Command, []string) error {
		cfg, err := settings.Config()
		if err != nil {
			return err
		}
		return wiring.ListKeys(cfg, c.stdout)
	})
	return group(&cobra.Command{Use: "keys", Short: "make and list the internal listener's API keys", GroupID: "operate"}, newKey, list)
}
