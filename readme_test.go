// The README's test: every shell block the README marks runnable (a fence
// opened with "```sh runnable") is run as a newcomer would type it, so the
// README keeps telling the truth.
package wxbackend_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq" // registered as "postgres"

	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/testenv"
)

// block is a runnable shell block of the README: its text and the line its
// fence opens on.
type block struct {
	line int
	text string
}

// runnableBlocks returns the README's blocks fenced "```sh runnable".
func runnableBlocks(t *testing.T, file string) []block {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []block
	var cur *block
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh runnable":
			cur = &block{line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s: the block of line %d is not closed", file, cur.line)
	}
	return blocks
}

// serverLine is a command line that starts make run, perhaps after
// variable assignments: the block runs it in the background, until the
// server is ready.
var serverLine = regexp.MustCompile(`^((?:[A-Z_][A-Z0-9_]*=(?:'[^']*'|"[^"]*"|\S+)\s+)*)make run\b`)

// script turns a block into the bash script the test runs: a make run line
// becomes `serve env … make run`, which starts it in a process group of its
// own (stopped by the test at the end, as Ctrl-C would) and waits until its
// /readyz answers.
func script(b block) string {
	var out strings.Builder
	out.WriteString(`set -euo pipefail
serve() {
  setsid "$@" >>"$WXB_README_LOG" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >>"$WXB_README_PIDS"
  for _ in $(seq 1200); do # up to 10 minutes: the first make run builds
    if curl -sf "http://$WXB_HTTP_ADDR/readyz" >/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "make run ended before it served; it printed:" >&2; cat "$WXB_README_LOG" >&2; return 1; fi
    sleep 0.5
  done
  echo "make run is not ready after 10 minutes; it printed:" >&2; cat "$WXB_README_LOG" >&2; return 1
}
`)
	for _, line := range strings.SplitAfter(b.text, "\n") {
		if serverLine.MatchString(line) {
			line = "serve env " + line
		}
		out.WriteString(line)
	}
	return out.String()
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// copyTree copies the checkout's source into a temporary directory, without
// git's data, build output, databases and node_modules, so the blocks' files
// (a SQLite database, bin/, data/) land there and not in the checkout.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	skip := map[string]bool{".git": true, "bin": true, "data": true, "node_modules": true}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip[d.Name()] && path != "." {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, path)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() || strings.Contains(d.Name(), ".db") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// readmeDSN is the README's PostgreSQL example, the local server of make
// test: the test checks that it connects, then runs the block on a
// throwaway database of the same server, so nothing is left in "test".
const readmeDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func TestReadme_RunnableBlocksRun(t *testing.T) {
	if testing.Short() {
		t.Skip("the README's blocks build and start the server: not with -short")
	}
	for _, tool := range []string{"make", "bash", "curl", "setsid"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unreachable(t, tool, err)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := runnableBlocks(t, "README.md")
	if len(blocks) < 4 { // the first five minutes, PostgreSQL, Redis, introspection
		t.Fatalf("README.md marks %d blocks runnable; a lost marker tests nothing", len(blocks))
	}
	if !bytes.Contains(readme, []byte(readmeDSN)) {
		t.Fatalf("README.md no longer shows the local PostgreSQL DSN %s; change readmeDSN with it", readmeDSN)
	}
	pg, err := sql.Open("postgres", readmeDSN)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = pg.PingContext(ctx)
		cancel()
		pg.Close()
	}
	if err != nil {
		testenv.Unreachable(t, "PostgreSQL at the README's "+readmeDSN, err)
	}

	dir := copyTree(t)
	addrs := map[string]string{ // the README's address → this run's
		"127.0.0.1:8080": freeAddr(t), // the server
		"127.0.0.1:8081": freeAddr(t), // its internal listener
		"127.0.0.1:8090": freeAddr(t), // the WeChat sandbox
		"127.0.0.1:8070": freeAddr(t), // the demo's echo service
	}
	var env []string
	for _, kv := range os.Environ() { // a newcomer's environment: none of ours
		if !strings.HasPrefix(kv, "WXB_") && !strings.HasPrefix(kv, "WXSIM_") {
			env = append(env, kv)
		}
	}
	env = append(env, "WXB_HTTP_ADDR="+addrs["127.0.0.1:8080"], "WXB_INTERNAL_ADDR="+addrs["127.0.0.1:8081"],
		"SANDBOX_ADDR="+addrs["127.0.0.1:8090"], "ECHO_ADDR="+addrs["127.0.0.1:8070"], "WXB_METRICS_ADDR=",
		"WXSIM_BACKEND=http://"+addrs["127.0.0.1:8080"], "WXSIM_SANDBOX=http://"+addrs["127.0.0.1:8090"])

	for _, b := range blocks {
		t.Run(fmt.Sprintf("line_%d", b.line), func(t *testing.T) {
			text := b.text
			if strings.Contains(text, readmeDSN) {
				text = strings.ReplaceAll(text, readmeDSN, sqltest.Postgres(t))
			}
			for from, to := range addrs {
				text = strings.ReplaceAll(text, from, to)
			}
			runBlock(t, dir, block{b.line, text}, env, addrs["127.0.0.1:8080"])
		})
	}
}

// runBlock runs one block in dir and stops the servers it started, as Ctrl-C
// would; it fails if the block fails or a server outlives the stop.
func runBlock(t *testing.T, dir string, b block, env []string, serverAddr string) {
	t.Helper()
	work := t.TempDir()
	pids, logFile := filepath.Join(work, "pids"), filepath.Join(work, "make-run.log")
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script(b))
	cmd.Dir = dir
	cmd.Env = append(env, "WXB_README_PIDS="+pids, "WXB_README_LOG="+logFile)
	out, err := cmd.CombinedOutput()
	stopServers(t, pids, serverAddr)
	if err != nil {
		t.Fatalf("README.md's block of line %d failed: %v\n--- the block, as run ---\n%s--- it printed ---\n%s", b.line, err, b.text, tail(out))
	}
}

// stopServers sends SIGINT to the process group of each make run the block
// started, and waits until they have gone and the server's port is free.
func stopServers(t *testing.T, pidFile, serverAddr string) {
	t.Helper()
	raw, err := os.ReadFile(pidFile)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var groups []int
	for _, f := range strings.Fields(string(raw)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 0 {
			groups = append(groups, pid)
			_ = syscall.Kill(-pid, syscall.SIGINT)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if !anyAlive(groups) {
			break
		}
		if time.Now().After(deadline) {
			for _, pid := range groups {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
			t.Fatalf("make run did not stop within 30 s of SIGINT (killed)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c, err := net.DialTimeout("tcp", serverAddr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still answers after make run stopped", serverAddr)
	}
}

// anyAlive reports whether a process of one of the groups still runs: a
// zombie, whose parent (the block's shell) has gone, does not count.
func anyAlive(groups []int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, file := range stats {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid pgrp …: comm may hold spaces, so read after its ")".
		fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		for _, g := range groups {
			if fields[2] == fmt.Sprint(g) {
				return true
			}
		}
	}
	return false
}

// tail returns the end of out, enough to see what failed.
func tail(out []byte) []byte {
	const limit = 16 << 10
	if len(out) > limit {
		return append([]byte("…\n"), out[len(out)-limit:]...)
	}
	return out
}
