package main

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
)

// messages runs "messages list|show|retry" on the outbox of subscribe
// messages, with --status, --app, --limit and --json among the
// configuration's flags. It only parses: wiring.MessagesCommand holds
// what a command is, and wiring.RunMessages runs it.
func messages(args []string) error {
	const usage = "usage: wxbackend messages list [--status queued|unknown|sent|delivered|failed] [--app <appid>] [--limit N] | messages show <id> | messages retry <id>  [--json] [flags]"
	cmd := wiring.MessagesCommand{Out: os.Stdout, Log: os.Stderr}
	switch {
	case len(args) >= 2 && args[1] == "list":
		cmd.Verb, args = "list", args[2:]
	case len(args) >= 3 && (args[1] == "show" || args[1] == "retry") && !strings.HasPrefix(args[2], "-"):
		cmd.Verb, cmd.Target, args = args[1], args[2], args[3:]
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
		case strings.HasPrefix(a, "-") && (name == "app" || name == "status" || name == "limit"):
			if !hasValue {
				if i+1 == len(args) {
					return errors.New("--" + name + " needs a value")
				}
				i++
				value = args[i]
			}
			switch name {
			case "app":
				cmd.App = value
			case "status":
				cmd.Status = value
			default:
				n, err := strconv.Atoi(value)
				if err != nil || n <= 0 {
					return errors.New("--limit needs a positive number")
				}
				cmd.Limit = n
			}
		default:
			rest = append(rest, a)
		}
	}
	cfg, err := config.Load(rest, os.LookupEnv, os.Stderr)
	if err != nil {
		return err
	}
	return wiring.RunMessages(cfg, cmd)
}
