package wiring_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/bench/nginxconf"
)

// The proxies' configurations are the README's: docs/proxies/ holds them
// with the addresses of the README (the service on 127.0.0.1:9000, wxbackend
// on 127.0.0.1:8080, the proxy on port 8000), which the tests replace with
// their own ports.
const (
	docWXBackend = "127.0.0.1:8080"
	docUpstream  = "127.0.0.1:9000"
	docsProxies  = "../../../docs/proxies/"
)

// proxyBinary finds a proxy's binary. A missing one fails the test under CI
// (.ci/services installs it) and skips it loudly elsewhere.
func proxyBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (%v): .ci/services installs it", name, err)
	}
	fmt.Fprintf(os.Stderr, "!!! %s is not installed: %s's forward-auth tests are SKIPPED (CI fails instead; bash .ci/services installs it)\n", name, t.Name())
	t.Skipf("!!! %s is not installed: SKIPPED", name)
	return ""
}

// proxyConfig reads a configuration of docs/proxies with the test's
// addresses in place of the README's, and checks the README shows it as it
// is in the file.
func proxyConfig(t *testing.T, file, wxbackend, upstream string) string {
	t.Helper()
	b, err := os.ReadFile(docsProxies + file)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, b) {
		t.Errorf("README.md does not show docs/proxies/%s as it is: copy the file into its block", file)
	}
	conf := string(b)
	for _, addr := range []string{docWXBackend, docUpstream} {
		if !strings.Contains(conf, addr) {
			t.Fatalf("docs/proxies/%s no longer names %s", file, addr)
		}
	}
	return strings.NewReplacer(docWXBackend, wxbackend, docUpstream, upstream).Replace(conf)
}

// startNginx runs nginx with docs/proxies/nginx.conf in front of upstream,
// asking wxbackend, on a free loopback port of its own, until the test ends.
// It returns the proxy's base URL.
func startNginx(t *testing.T, wxbackend, upstream string) string {
	t.Helper()
	bin := proxyBinary(t, "nginx")
	dir := t.TempDir()
	addr := wiringtest.FreeAddr(t)
	site := strings.Replace(proxyConfig(t, "nginx.conf", wxbackend, upstream), "listen 8000;", "listen "+addr+";", 1)
	main := nginxconf.Main(dir, 0, "info", 64)
	writeFile(t, filepath.Join(dir, "site.conf"), site)
	writeFile(t, filepath.Join(dir, "nginx.conf"), main)
	startProxy(t, addr, filepath.Join(dir, "error.log"), bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	return "http://" + addr
}

// startCaddy runs Caddy with docs/proxies/Caddyfile in front of upstream,
// asking wxbackend, on a free loopback port of its own, without its admin
// endpoint, until the test ends. It returns the proxy's base URL.
func startCaddy(t *testing.T, wxbackend, upstream string) string {
	t.Helper()
	bin := proxyBinary(t, "caddy")
	dir := t.TempDir()
	addr := wiringtest.FreeAddr(t)
	conf := proxyConfig(t, "Caddyfile", wxbackend, upstream)
	if !strings.Contains(conf, "\n:8000 {\n") {
		t.Fatal("docs/proxies/Caddyfile no longer serves :8000")
	}
	conf = "{\n\tadmin off\n\tauto_https off\n}\n" +
		strings.Replace(conf, "\n:8000 {\n", "\nhttp://"+addr+" {\n\tbind 127.0.0.1\n", 1)
	writeFile(t, filepath.Join(dir, "Caddyfile"), conf)
	startProxy(t, addr, filepath.Join(dir, "caddy.log"), bin, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	return "http://" + addr
}

// startProxy starts a proxy's process (its output to logFile, its home the
// log's directory), waits until addr accepts connections, and kills it when
// the test ends.
func startProxy(t *testing.T, addr, logFile, bin string, args ...string) {
	t.Helper()
	dir := filepath.Dir(logFile)
	out, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// Caddy keeps state under the home directories: the test's own.
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var once sync.Once
	go func() { _ = cmd.Wait(); once.Do(func() { close(exited) }) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = out.Close()
		if t.Failed() {
			logs, _ := os.ReadFile(logFile)
			t.Logf("%s's log:\n%s", filepath.Base(bin), logs)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			logs, _ := os.ReadFile(logFile)
			t.Fatalf("%s exited at start:\n%s", filepath.Base(bin), logs)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 15 s", filepath.Base(bin), addr)
		}
		select {
		case <-exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
