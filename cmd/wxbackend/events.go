package main

import (
	"errors"
	"os"
	"strings"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
)

// events runs "events list|show|replay" on the inbox of WeChat's pushes,
// with --app, --state and --json among the configuration's flags.
func events(args []string) error {
	const usage = "usage: wxbackend events list [--app <appid>] [--state pending|done|dead] | events show <id> | events replay <id>  [--json] [flags]"
	cmd := wiring.EventsCommand{Out: os.Stdout, Log: os.Stderr}
	switch {
	case len(args) >= 2 && args[1] == "list":
		cmd.Verb, args = "events list", args[2:]
	case len(args) >= 3 && (args[1] == "show" || args[1] == "replay") && !strings.HasPrefix(args[2], "-"):
		cmd.Verb, cmd.Target, args = "events "+args[1], args[2], args[3:]
	default:
		return errors.New(usage)
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case a == "--json" || a == "-json":
			cmd.JSON = true
		case strings.HasPrefix(a, "-") && (name == "app" || name == "state"):
			if !hasValue {
				if i+1 == len(args) {
					return errors.New("--" + name + " needs a value")
				}
				i++
				value = args[i]
			}
			if name == "app" {
				cmd.App = value
			} else {
				cmd.State = value
			}
		default:
			rest = append(rest, a)
		}
	}
	cfg, err := config.Load(rest, os.LookupEnv, os.Stderr)
	if err != nil {
		return err
	}
	return wiring.RunEvents(cfg, cmd)
}
