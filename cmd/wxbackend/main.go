// Command wxbackend serves the WeChat mini-program backend, and holds the
// operator's commands on the server's own stores:
//
//	wxbackend [flags]                  serve (wxbackend serve is the same)
//	wxbackend migrate                  bring the database schema up to date and exit
//	wxbackend config                   print the configuration, secrets redacted
//	wxbackend settings [--readme F]    the table of every setting (or rewrite README F's)
//	wxbackend users show|logout|delete <openid|phone|unionid>
//	wxbackend sessions count
//	wxbackend avatars collect
//	wxbackend events list|show|replay
//	wxbackend keys new|list
//	wxbackend completion bash|zsh|fish|powershell
//	wxbackend help [command]           and --help (-h) on every command
//
// The command line is spf13/cobra's (cli.go): flags go anywhere, before or
// after arguments, as --name value, --name=value or, as before, -name.
// Every setting is a flag of the commands that use it and an environment
// variable (WXB_…); a command checks only the settings it uses. Exit status:
// 0 done, 1 not found (the user or event asked about), 2 anything else
// (a wrong command line or setting, a failed start, a store that does not
// answer). The server is assembled in ./wiring, the composition root.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"wxbackend/cmd/wxbackend/wiring"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK       = 0
	exitNotFound = 1
	exitFailed   = 2
)

// run runs the command line args with the environment env and returns the
// exit status; errors are written to stderr, one line each.
func run(args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	root := newRoot(env, stdout, stderr)
	root.SetArgs(longFlags(args, flagNames(root)))
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var failed commandError
	if !errors.As(err, &failed) { // the command line itself: cobra's own errors
		fmt.Fprintf(stderr, "wxbackend: %v\nRun '%s --help' for usage.\n", err, cmd.CommandPath())
		return exitFailed
	}
	fmt.Fprintln(stderr, "wxbackend:", strings.TrimSpace(err.Error()))
	if errors.Is(err, wiring.ErrNotFound) {
		return exitNotFound
	}
	return exitFailed
}

// commandError is a command's own failure, as opposed to a wrong command
// line (which gets a pointer to --help).
type commandError struct{ err error }

func (e commandError) Error() string { return e.err.Error() }
func (e commandError) Unwrap() error { return e.err }

// longFlags rewrites the single-dash long flags wxbackend took before
// (-json, -name orders, -readme=README.md) as the double-dash ones
// spf13/pflag reads, when names has the flag: -h, values such as -1 or
// -x, and everything after -- are left alone.
func longFlags(args []string, names map[string]bool) []string {
	out := append([]string(nil), args...)
	for i, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && names[name] {
			out[i] = "-" + a
		}
	}
	return out
}

// flagNames returns the long flags of every command under root (-h's
// help included).
func flagNames(root *cobra.Command) map[string]bool {
	names := map[string]bool{"help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return names
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
