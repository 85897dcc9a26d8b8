package wiring

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"wxbackend/adapters/apikeys"
	"wxbackend/config/setting"
	"wxbackend/domain"
)

// KeysUsage is how the keys commands are called.
const KeysUsage = "usage: wxbackend keys new -name <name> -scope introspect[,openapi,messages] [-app <appid>[,<appid>]] | keys list [--internal-keys-file <path>]"

// RunKeys runs the operator's keys commands, with args after "keys":
//
//	new -name orders -scope introspect[,openapi] [-app wx…]
//	    a fresh key, printed once, and the [[key]] block (its digest) to
//	    append to the keys file
//	list
//	    the names, scopes and apps of the keys file (WXB_INTERNAL_KEYS_FILE)
//
// They read only the settings they use: new none, list the keys file's.
func RunKeys(args []string, env func(string) (string, bool), out, errOut io.Writer) error {
	if len(args) == 0 {
		return errors.New(KeysUsage)
	}
	switch args[0] {
	case "new":
		return newKey(args[1:], out, errOut)
	case "list":
		var c struct{ Keys apikeys.Options }
		if err := setting.Load("wxbackend keys list", &c, setting.Source{Args: args[1:], Env: env, File: os.ReadFile}, errOut); err != nil {
			return err
		}
		if c.Keys.File == "" {
			return errors.New("no keys file: set WXB_INTERNAL_KEYS_FILE or --internal-keys-file")
		}
		entries, err := apikeys.Read(c.Keys.File)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSCOPES\tAPPS")
		for _, e := range entries {
			apps := "every app"
			if len(e.Apps) > 0 {
				apps = strings.Join(e.Apps, ",")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, strings.Join(e.Scopes, ","), apps)
		}
		return tw.Flush()
	}
	return errors.New(KeysUsage)
}

// newKey prints a fresh key, once, and the block of the keys file that
// holds its digest.
func newKey(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("wxbackend keys new", flag.ContinueOnError)
	fs.SetOutput(errOut)
	name := fs.String("name", "", "who holds the key (a service): logs and metrics show this name")
	scopes := fs.String("scope", "", "what the key may do, comma-separated: introspect, openapi, messages")
	apps := fs.String("app", "", "the appids it may act for, comma-separated (empty: every app)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *name == "" || *scopes == "" {
		return errors.New(KeysUsage)
	}
	if !apikeys.ValidName(*name) {
		return fmt.Errorf("-name %q: 1 to 64 of A-Z a-z 0-9 . _ -", *name)
	}
	e := apikeys.Entry{Name: *name, Scopes: splitList(*scopes), Apps: splitList(*apps)}
	for _, s := range e.Scopes {
		if _, err := domain.ParseScope(s); err != nil {
			return err
		}
	}
	for _, a := range e.Apps {
		if !apikeys.ValidAppID(a) {
			return fmt.Errorf("-app %q is not an appid (1 to 32 of A-Z a-z 0-9)", a)
		}
	}
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		return err
	}
	e.SHA256 = digest
	fmt.Fprintf(out, "New API key for %s (shown once: give it to the service as a secret; the server keeps only its digest):\n\n  %s\n\n", e.Name, key)
	fmt.Fprintf(out, "Append to the keys file (WXB_INTERNAL_KEYS_FILE); running servers take it within WXB_INTERNAL_KEYS_RELOAD_INTERVAL, or at once on SIGHUP:\n\n%s", apikeys.Block(e))
	return nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
