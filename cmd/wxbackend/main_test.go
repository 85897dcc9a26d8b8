package main

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"wxbackend/adapters/sqlstore"
	"wxbackend/domain"
)

// result is what one run printed and its exit status.
type result struct {
	code           int
	stdout, stderr string
}

// runWith runs the command line with exactly the environment vars (and
// nothing of the test process's).
func runWith(vars map[string]string, args ...string) result {
	var out, errOut strings.Builder
	env := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	code := run(args, env, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// Every command and subcommand answers --help and -h on stdout, exit 0;
// help <command> says the same.
func TestRun_HelpForEveryCommand(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(newRoot(nil, nil, nil), nil)
	if len(paths) < 20 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, path := range paths {
		for _, h := range []string{"--help", "-h"} {
			r := runWith(nil, append(append([]string(nil), path...), h)...)
			usage := strings.TrimSpace("wxbackend " + strings.Join(path, " "))
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, usage) || r.stderr != "" {
				t.Errorf("%v %s: exit %d\n%s%s", path, h, r.code, r.stdout, r.stderr)
			}
		}
	}
	if r := runWith(nil, "help", "users", "show"); r.code != 0 || !strings.Contains(r.stdout, "wxbackend users show <openid|phone|unionid> [flags]") ||
		!strings.Contains(r.stdout, "--reveal") || !strings.Contains(r.stdout, "exit status 1 if none") {
		t.Errorf("help users show: exit %d\n%s", r.code, r.stdout)
	}
	r := runWith(nil, "help")
	for _, want := range []string{"Exit status: 0 done; 1 not found", "users ", "events ", "keys ", "completion", "--db-dsn", "WXB_DB_DSN"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q: exit %d\n%s", want, r.code, r.stdout)
		}
	}
}

// A wrong command line exits 2 with one line saying what is wrong and
// where the usage is, never a panic or a silent exit 0.
func TestRun_WrongCommandLines(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "wxbackend"`},
		{[]string{"users"}, "wxbackend users needs a command: delete, logout, show"},
		{[]string{"users", "show"}, "accepts 1 arg(s), received 0"},
		{[]string{"users", "show", "a", "b"}, "accepts 1 arg(s), received 2"},
		{[]string{"logout"}, "accepts 1 arg(s)"},
		{[]string{"avatars"}, "needs a command: collect"},
		{[]string{"avatars", "delete"}, `unknown command "delete" for "wxbackend avatars"`},
		{[]string{"users", "show", "x", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"migrate", "--http-addr", "127.0.0.1:1"}, "unknown flag: --http-addr"}, // not a setting migrate uses
		{[]string{"keys", "new", "--name", "orders"}, `required flag(s) "scope" not set`},
	} {
		r := runWith(nil, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "--help' for usage") || r.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want 2 and %q", c.args, r.code, r.stderr, r.stdout, c.want)
		}
	}
}

// users show takes its flags anywhere (after the argument too, and in the
// single-dash spelling it took before), needs none of the serving settings
// (no WeChat credentials, no public avatar URL on a public address), and
// exits 1 when no user matches.
func TestRun_UsersShow_FlagsAnywhereAndExitStatus(t *testing.T) {
	dsn := "file:" + filepath.Join(t.TempDir(), "users.db")
	env := map[string]string{"WXB_DB_DSN": dsn, "WXB_HTTP_ADDR": "0.0.0.0:8080"}
	if r := runWith(env, "migrate"); r.code != 0 || !strings.Contains(r.stdout, "schema at version") {
		t.Fatalf("migrate: %+v", r)
	}
	st, err := sqlstore.Open(sqlstore.Options{Driver: "sqlite", DSN: sqlstore.DSN(dsn)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Users.EnsureUser(context.Background(), domain.Identity{AppID: "wxshop", OpenID: "oAda"}, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()

	for _, args := range [][]string{
		{"users", "show", "oAda", "--json", "--app", "wxshop"},
		{"users", "show", "--app=wxshop", "oAda", "-json"},
	} {
		r := runWith(env, args...)
		var rows []map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rows) != nil || len(rows) != 1 || rows[0]["openId"] != "oAda" {
			t.Errorf("%q: %+v", args, r)
		}
	}
	// The one app configured is the default, and a table without --json.
	withApp := map[string]string{"WXB_DB_DSN": dsn, "WXB_WECHAT_APP_ID": "wxshop"}
	if r := runWith(withApp, "users", "show", "oAda"); r.code != 0 || !strings.Contains(r.stdout, "OPENID") || !strings.Contains(r.stdout, "oAda") {
		t.Errorf("show with the app configured: %+v", r)
	}
	// Not found: exit 1, a line on stderr, and an empty list for --json.
	r := runWith(env, "users", "show", "oNobody", "--app", "wxshop", "--json")
	if r.code != 1 || strings.TrimSpace(r.stdout) != "[]" || r.stderr != "wxbackend: no user oNobody in wxshop\n" {
		t.Errorf("show of no one: %+v", r)
	}
	if r := runWith(env, "users", "delete", "oNobody", "--app", "wxshop"); r.code != 1 || !strings.Contains(r.stderr, "no user oNobody") {
		t.Errorf("delete of no one: %+v", r)
	}
	if r := runWith(env, "users", "show", "oAda"); r.code != 2 || !strings.Contains(r.stderr, "name it with --app") {
		t.Errorf("show with no app at all: %+v", r)
	}
	// The server itself checks them all: the same environment is refused
	// by config (what make run checks first), naming each setting.
	if r := runWith(env, "config"); r.code != 2 || !strings.Contains(r.stderr, "WXB_WECHAT_APP_SECRET") || !strings.Contains(r.stderr, "WXB_AVATAR_PUBLIC_URL") {
		t.Errorf("config: %+v", r)
	}
}

// Each command checks only the settings it uses: a broken setting of the
// server's HTTP side stops the server, not migrate; a broken database
// setting stops migrate.
func TestRun_CommandsCheckOnlyTheirSettings(t *testing.T) {
	dsn := "file:" + filepath.Join(t.TempDir(), "m.db")
	broken := map[string]string{"WXB_DB_DSN": dsn, "WXB_HTTP_MAX_BODY": "lots", "WXB_SESSION_STORE": "carrier-pigeon"}
	if r := runWith(broken, "migrate"); r.code != 0 {
		t.Errorf("migrate with unrelated settings broken: %+v", r)
	}
	if r := runWith(broken, "keys", "new", "--scope", "introspect", "--name", "orders"); r.code != 0 || !strings.Contains(r.stdout, "wxk_") {
		t.Errorf("keys new: %+v", r)
	}
	if r := runWith(broken, "config"); r.code != 2 || !strings.Contains(r.stderr, "WXB_HTTP_MAX_BODY") {
		t.Errorf("config: %+v", r)
	}
	if r := runWith(broken, "users", "show", "x", "--app", "wx1"); r.code != 2 || !strings.Contains(r.stderr, "WXB_SESSION_STORE") || strings.Contains(r.stderr, "WXB_HTTP_MAX_BODY") {
		t.Errorf("users show with a broken session store: %+v", r)
	}
	if r := runWith(map[string]string{"WXB_DB_DRIVER": "oracle"}, "migrate"); r.code != 2 || !strings.Contains(r.stderr, "WXB_DB_DRIVER (--db-driver)") {
		t.Errorf("migrate with a broken driver: %+v", r)
	}
	// A flag wins over its variable.
	if r := runWith(map[string]string{"WXB_DB_DRIVER": "oracle"}, "migrate", "--db-driver", "sqlite", "--db-dsn", dsn); r.code != 0 {
		t.Errorf("migrate --db-driver sqlite: %+v", r)
	}
}

// keys new takes its flags in any spelling; settings -readme as make readme
// calls it.
func TestRun_KeysAndSettings(t *testing.T) {
	for _, args := range [][]string{{"keys", "new", "-name", "orders", "-scope", "introspect"}, {"keys", "new", "--scope=introspect", "--name=orders"}} {
		if r := runWith(nil, args...); r.code != 0 || !strings.Contains(r.stdout, `name = "orders"`) {
			t.Errorf("%q: %+v", args, r)
		}
	}
	if r := runWith(nil, "keys", "list"); r.code != 2 || !strings.Contains(r.stderr, "no keys file") {
		t.Errorf("keys list without a file: %+v", r)
	}
	if r := runWith(nil, "settings"); r.code != 0 || !strings.Contains(r.stdout, "| `WXB_DB_DSN` (`--db-dsn`) |") {
		t.Errorf("settings: %+v", r)
	}
	if r := runWith(nil, "settings", "-readme", filepath.Join(t.TempDir(), "none.md")); r.code != 2 || !strings.Contains(r.stderr, "none.md") {
		t.Errorf("settings -readme of a missing file: %+v", r)
	}
}

// completion writes a shell's script, and the shell's calls complete
// commands and the values of --state.
func TestRun_Completion(t *testing.T) {
	if r := runWith(nil, "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "__start_wxbackend") {
		t.Errorf("completion bash: exit %d, %d bytes", r.code, len(r.stdout))
	}
	if r := runWith(nil, "__complete", "us"); r.code != 0 || !strings.Contains(r.stdout, "users") {
		t.Errorf("complete us: %+v", r)
	}
	r := runWith(nil, "__complete", "events", "list", "--state", "")
	if r.code != 0 || !strings.Contains(r.stdout, "pending\ndone\ndead\n") {
		t.Errorf("complete --state: %+v", r)
	}
}

// The single-dash spellings of known flags become double-dash ones; -h,
// values and what follows -- stay as they are.
func TestLongFlags(t *testing.T) {
	names := flagNames(newRoot(nil, nil, nil))
	got := longFlags([]string{"-json", "-h", "-app=wx1", "--reveal", "-1", "-oddvalue", "-db-dsn", "x", "--", "-json"}, names)
	want := []string{"--json", "-h", "--app=wx1", "--reveal", "-1", "-oddvalue", "--db-dsn", "x", "--", "-json"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// serveEnv is a server's environment on a fresh SQLite file.
func serveEnv(t *testing.T, more ...string) map[string]string {
	env := map[string]string{"WXB_WECHAT_APP_ID": "wx1", "WXB_WECHAT_APP_SECRET": "s", "WXB_HTTP_ADDR": "127.0.0.1:0",
		"WXB_DB_DSN": "file:" + filepath.Join(t.TempDir(), "serve.db"), "WXB_AVATAR_DIR": t.TempDir(), "WXB_MEMORY_LIMIT": "0"}
	for i := 0; i+1 < len(more); i += 2 {
		env[more[i]] = more[i+1]
	}
	return env
}

// takenPort returns an address something listens on for the test's length.
func takenPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// oneFailureLine checks that a failed start said so in exactly one line,
// with want in it, and logged none of fx's account of it.
func oneFailureLine(t *testing.T, r result, want ...string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "wxbackend:") {
			lines = append(lines, l)
		}
	}
	if r.code != 2 || len(lines) != 1 || strings.Contains(r.stderr, "level=ERROR") || strings.Contains(r.stderr, "OnStart hook failed") {
		t.Fatalf("exit %d, %d lines of wxbackend:\n%s", r.code, len(lines), r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("the line lacks %q:\n%s", w, lines[0])
		}
	}
}

// A port in use names the listener's setting, for each listener; the
// whole trace only with WXB_DEBUG.
func TestServe_PortInUseNamesTheSetting(t *testing.T) {
	taken := takenPort(t)
	r := runWith(serveEnv(t, "WXB_HTTP_ADDR", taken))
	oneFailureLine(t, r, "cannot listen on "+taken, "(WXB_HTTP_ADDR): address already in use", "set WXB_HTTP_ADDR to another address")

	keys := filepath.Join(t.TempDir(), "keys.toml")
	if err := os.WriteFile(keys, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(taken)
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"WXB_METRICS_ADDR", ":" + port}, "the metrics listener's address (WXB_METRICS_ADDR)"},
		{[]string{"WXB_INTERNAL_KEYS_FILE", keys, "WXB_INTERNAL_ADDR", taken}, "the internal listener's address (WXB_INTERNAL_ADDR)"},
		{[]string{"WXB_HTTP_DEBUG_ADDR", taken}, "the profiling listener's address (WXB_HTTP_DEBUG_ADDR)"},
		// The internal listener is off without keys: its address is no one's.
		{[]string{"WXB_INTERNAL_ADDR", "127.0.0.1:" + port, "WXB_METRICS_ADDR", taken}, "(WXB_METRICS_ADDR)"},
	} {
		oneFailureLine(t, runWith(serveEnv(t, c.env...)), c.want)
	}

	r = runWith(serveEnv(t, "WXB_HTTP_ADDR", taken, "WXB_DEBUG", "1"))
	if r.code != 2 || !strings.Contains(r.stderr, "OnStart hook failed") || !strings.Contains(r.stderr, "address already in use") {
		t.Fatalf("with WXB_DEBUG: exit %d\n%s", r.code, r.stderr)
	}
	if r := runWith(serveEnv(t, "WXB_HTTP_ADDR", taken), "serve", "--debug"); !strings.Contains(r.stderr, "OnStart hook failed") {
		t.Fatalf("serve --debug:\n%s", r.stderr)
	}
}

// A database that does not answer at start names the DSN (its password
// hidden) and says what to do; so does a Redis a command cannot reach.
func TestServe_StoreDownNamesTheSetting(t *testing.T) {
	for _, c := range []struct{ driver, dsn string }{
		{"mysql", "root:hunter2@tcp(" + closedPort(t) + ")/test"},
		{"postgres", "postgres://wx:hunter2@" + closedPort(t) + "/test?sslmode=disable"},
	} {
		r := runWith(serveEnv(t, "WXB_DB_DRIVER", c.driver, "WXB_DB_DSN", c.dsn))
		oneFailureLine(t, r, "the user database (WXB_DB_DRIVER="+c.driver, "does not answer: connection refused", "is it running? bash .ci/services starts the local ones")
		if strings.Contains(r.stderr, "hunter2") {
			t.Fatalf("the password is printed:\n%s", r.stderr)
		}
	}
	// An SQLite file in a folder that does not exist: advice about the file, not a server.
	r := runWith(serveEnv(t, "WXB_DB_DRIVER", "sqlite", "WXB_DB_DSN", "file:"+filepath.Join(t.TempDir(), "no", "such", "folder", "x.db")))
	oneFailureLine(t, r, "the user database (WXB_DB_DRIVER=sqlite", "the file's folder exists and is writable")
	redis := closedPort(t)
	r = runWith(map[string]string{"WXB_SESSION_STORE": "redis", "WXB_REDIS_ADDRS": redis, "WXB_REDIS_TIMEOUT": "200ms",
		"WXB_DB_DSN": "file:" + filepath.Join(t.TempDir(), "r.db")}, "sessions", "count")
	if r.code != 2 || !strings.Contains(r.stderr, "wxbackend: Redis at "+redis+" (WXB_REDIS_ADDRS) does not answer") || !strings.Contains(r.stderr, "is it running?") {
		t.Fatalf("sessions count with Redis down: %+v", r)
	}
	r = runWith(map[string]string{"WXB_SESSION_STORE": "redis", "WXB_REDIS_ADDRS": redis, "WXB_REDIS_TIMEOUT": "200ms",
		"WXB_DB_DSN": "file:" + filepath.Join(t.TempDir(), "r.db")}, "sessions", "count", "--debug")
	if r.code != 2 || strings.Contains(r.stderr, "is it running?") || !strings.Contains(r.stderr, "wxbackend: storage unavailable") {
		t.Fatalf("sessions count --debug with Redis down: %+v", r)
	}
}

// WXB_MEMORY_LIMIT becomes the runtime's soft memory limit, unless it is 0
// or GOMEMLIMIT is set.
func TestLimitMemory_SetsTheLimitUnlessGOMEMLIMITIsSet(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	debug.SetMemoryLimit(math.MaxInt64)
	noEnv := func(string) (string, bool) { return "", false }
	withEnv := func(k string) (string, bool) { return "300MiB", k == "GOMEMLIMIT" }

	if limitMemory(200<<20, withEnv) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set, the limit is %d", debug.SetMemoryLimit(-1))
	}
	if limitMemory(0, noEnv) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("with 0, the limit is %d", debug.SetMemoryLimit(-1))
	}
	if !limitMemory(200<<20, noEnv) || debug.SetMemoryLimit(-1) != 200<<20 {
		t.Fatalf("with 200 MiB, the limit is %d", debug.SetMemoryLimit(-1))
	}
}
