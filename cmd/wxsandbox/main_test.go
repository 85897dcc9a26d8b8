package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxbackend/internal/sim/miniprogram"
	"wxbackend/internal/sim/sandbox"
)

// -apps-file serves the apps of the server's apps file, secrets read as
// the server reads them, with unionids as for apps of one account.
func TestAppsOf_ServesTheServersApps(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "staff.secret")
	if err := os.WriteFile(secretFile, []byte("staff-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "apps.toml")
	apps := "[[app]]\nappid = \"wx5h0p000000000001\"\nsecret = \"shop-secret\"\n\n" +
		"[[app]]\nappid = \"wx57aff00000000002\"\nsecret_file = \"" + secretFile + "\"\nlogin_per_minute = 2\n"
	if err := os.WriteFile(file, []byte(apps), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := appsOf(file)
	want := []sandbox.Options{
		{AppID: "wx5h0p000000000001", AppSecret: "shop-secret", UnionIDs: true},
		{AppID: "wx57aff00000000002", AppSecret: "staff-secret", UnionIDs: true},
	}
	if err != nil || len(got) != len(want) {
		t.Fatalf("appsOf: %+v, %v; want %+v", got, err, want)
	}
	for i, w := range want {
		if g := got[i]; g.AppID != w.AppID || g.AppSecret != w.AppSecret || g.UnionIDs != w.UnionIDs {
			t.Errorf("app %d: %+v, want %+v", i+1, g, w)
		}
	}
	if err := os.WriteFile(file, []byte("[[app]]\nappid = \"wx1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := appsOf(file); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("an app without a secret: %v, want an error naming the file", err)
	}
}

// make run is one command: scripts/run builds the server and the sandbox,
// starts each as its own process, points the server at the sandbox, and
// stops both when it is stopped.
func TestMakeRun_BringsTheSandboxAlongAndStopsBoth(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	serverAddr, sandboxAddr := freeAddr(t), freeAddr(t)
	internalAddr := freeAddr(t) // make demo's service: the internal listener
	cmd := exec.Command("bash", filepath.Join(root, "scripts/run"))
	cmd.Dir = root
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WXB_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "BIN_DIR="+dir, "SANDBOX_ADDR="+sandboxAddr, "WXB_HTTP_ADDR="+serverAddr,
		"WXB_INTERNAL_ADDR="+internalAddr, "ECHO_ADDR="+freeAddr(t),
		"WXB_METRICS_ADDR=", "WXB_DB_DSN=file:"+filepath.Join(dir, "wxbackend.db"), "WXB_AVATAR_DIR="+filepath.Join(dir, "avatars"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to end what it started, should the test fail
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	banner := make(chan struct{})
	var lines []string
	linesDone := make(chan struct{})
	go func() {
		defer close(linesDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "make demo") {
				close(banner)
			}
		}
	}()
	go func() {
		<-linesDone
		exited <- cmd.Wait()
	}()
	select {
	case <-banner:
	case err := <-exited:
		t.Fatalf("scripts/run ended before serving: %v\n%s", err, strings.Join(lines, "\n"))
	case <-time.After(5 * time.Minute): // it builds two binaries first
		t.Fatal("no banner after 5 minutes")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mp := miniprogram.New(miniprogram.Options{Backend: "http://" + serverAddr, WX: sandbox.NewPhone("http://"+sandboxAddr, nil), User: "newcomer"})
	if e, err := mp.Login(ctx); err != nil || e.Code != 0 {
		t.Fatalf("login through make run's sandbox: %+v %v", e, err)
	}
	if e, err := mp.Me(ctx); err != nil || e.Code != 0 {
		t.Fatalf("me: %+v %v", e, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("scripts/run did not end on SIGTERM")
	}
	for _, addr := range []string{serverAddr, sandboxAddr} {
		deadline := time.Now().Add(10 * time.Second)
		for listening(addr) {
			if time.Now().After(deadline) {
				t.Fatalf("%s still listens after make run stopped", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	got := strings.Join(lines, "\n")
	for _, want := range []string{"with a WeChat SANDBOX (appid wxsandbox000000000) on http://" + sandboxAddr, "go run ./cmd/wxsim"} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "sandbox-app-secret") {
		t.Errorf("the output shows the app secret:\n%s", got)
	}
	// make demo's API key (scope messages): in BIN_DIR for the demo only,
	// its digest in the server's keys file, the key itself never printed.
	key, err := os.ReadFile(filepath.Join(dir, "demo-messages.key"))
	if err != nil || !strings.HasPrefix(string(key), "wxk_") {
		t.Fatalf("the demo's key: %q %v", key, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "demo-messages.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the demo's key file: %v %v", fi.Mode(), err)
	}
	if keys, err := os.ReadFile(filepath.Join(dir, "internal-keys.toml")); err != nil || !strings.Contains(string(keys), `scopes = ["messages"]`) ||
		strings.Contains(string(keys), strings.TrimSpace(string(key))) {
		t.Errorf("the keys file: %s %v", keys, err)
	}
	if strings.Contains(got, strings.TrimSpace(string(key))) || !strings.Contains(got, "listener=internal addr="+internalAddr) {
		t.Errorf("the output shows the demo's key, or no internal listener:\n%s", got)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}
