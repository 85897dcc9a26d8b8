package wiring

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"wxbackend/adapters/apikeys"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
)

// NewKeyCommand is wxbackend keys new's: who holds the key, what it may do
// (comma-separated scopes) and for which apps (comma-separated; empty:
// every app).
type NewKeyCommand struct {
	Name, Scopes, Apps string
	Out                io.Writer
}

// NewKey prints a fresh key, once, and the block of the keys file that
// holds its digest. It reads no setting.
func NewKey(cmd NewKeyCommand) error {
	if cmd.Name == "" || cmd.Scopes == "" {
		return errors.New("--name and --scope are required")
	}
	if !apikeys.ValidName(cmd.Name) {
		return fmt.Errorf("--name %q: 1 to 64 of A-Z a-z 0-9 . _ -", cmd.Name)
	}
	e := apikeys.Entry{Name: cmd.Name, Scopes: splitList(cmd.Scopes), Apps: splitList(cmd.Apps)}
	for _, s := range e.Scopes {
		if _, err := domain.ParseScope(s); err != nil {
			return err
		}
	}
	for _, a := range e.Apps {
		if !apikeys.ValidAppID(a) {
			return fmt.Errorf("--app %q is not an appid (1 to 32 of A-Z a-z 0-9)", a)
		}
	}
	key, digest, err := apikeys.NewKey(rand.Reader)
	if err != nil {
		return err
	}
	e.SHA256 = digest
	fmt.Fprintf(cmd.Out, "New API key for %s (shown once: give it to the service as a secret; the server keeps only its digest):\n\n  %s\n\n", e.Name, key)
	fmt.Fprintf(cmd.Out, "Append to the keys file (WXB_INTERNAL_KEYS_FILE); running servers take it within WXB_INTERNAL_KEYS_RELOAD_INTERVAL, or at once on SIGHUP:\n\n%s", apikeys.Block(e))
	return nil
}

// ListKeys prints the names, scopes and apps of the keys file of cfg
// (WXB_INTERNAL_KEYS_FILE).
func ListKeys(cfg config.Config, out io.Writer) error {
	if cfg.APIKeys.File == "" {
		return errors.New("no keys file: set WXB_INTERNAL_KEYS_FILE or --internal-keys-file")
	}
	entries, err := apikeys.Read(cfg.APIKeys.File)
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
