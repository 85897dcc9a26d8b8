package main

import (
	"errors"

	"github.com/spf13/cobra"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
)

// messages is "messages list|show|retry" on the outbox of subscribe
// messages. It only parses: wiring.MessagesCommand holds what a command
// is, and wiring.RunMessages runs it.
func (c cli) messages() *cobra.Command {
	message := func(use, short, verb string, args cobra.PositionalArgs, flags func(cmd *cobra.Command, m *wiring.MessagesCommand)) *cobra.Command {
		cmd := &cobra.Command{Use: use, Short: short, Args: args}
		m := &wiring.MessagesCommand{Verb: verb}
		cmd.Flags().BoolVar(&m.JSON, "json", false, "print JSON")
		if flags != nil {
			flags(cmd, m)
		}
		settings := config.Bind(cmd.Flags(), config.Outbox, c.env)
		cmd.RunE = act(func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("limit") && m.Limit <= 0 {
				return errors.New("--limit needs a positive number")
			}
			cfg, err := settings.Config()
			if err != nil {
				return err
			}
			run := *m
			if len(args) > 0 {
				run.Target = args[0]
			}
			run.Out, run.Log = c.stdout, c.stderr
			return storeFailure(cfg, wiring.RunMessages(cfg, run))
		})
		return cmd
	}
	list := message("list", "subscribe messages of the outbox, newest first", "list", cobra.NoArgs,
		func(cmd *cobra.Command, m *wiring.MessagesCommand) {
			cmd.Flags().StringVar(&m.Status, "status", "", "only messages in this status: queued, unknown, sent, delivered or failed")
			cmd.Flags().StringVar(&m.App, "app", "", "only this app's (appid)")
			cmd.Flags().IntVar(&m.Limit, "limit", 0, "at most this many (default 100)")
			_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"queued", "unknown", "sent", "delivered", "failed"}, cobra.ShellCompDirectiveNoFileComp))
		})
	show := message("show <id>", "a message: its data, attempts, errcode, msgid and last error; exit status 1 if no such message", "show", cobra.ExactArgs(1), nil)
	retry := message("retry <id>", "a failed or given-up message queued again: a running server sends it; exit status 1 if no such message", "retry", cobra.ExactArgs(1), nil)
	return group(&cobra.Command{Use: "messages", Short: "list, show and retry the subscribe messages of the outbox", GroupID: "operate"}, list, show, retry)
}
