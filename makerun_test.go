package wxbackend_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/testenv"
)

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMakeRun_CtrlCInATerminalStopsItWithExitZero: make run in a terminal
// (script(1) gives it one) says what it builds, and Ctrl-C, typed into the
// terminal, stops the server, the sandbox and the echo service with exit
// status 0 and no "make: *** … Error".
func TestMakeRun_CtrlCInATerminalStopsItWithExitZero(t *testing.T) {
	if testing.Short() {
		t.Skip("make run builds the binaries: not with -short")
	}
	for _, tool := range []string{"make", "script"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unreachable(t, tool+" (script is util-linux's)", err)
		}
	}
	dir := copyTree(t)
	server, sandbox, echo := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qefc", "make run", os.DevNull)
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WXB_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "WXB_HTTP_ADDR="+server, "SANDBOX_ADDR="+sandbox, "ECHO_ADDR="+echo,
		"WXB_INTERNAL_ADDR="+freeAddr(t), "WXB_METRICS_ADDR=")
	terminal, err := cmd.StdinPipe() // what is typed into the terminal
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Ready: /readyz answers (the first build may take minutes).
	client := &http.Client{Timeout: time.Second}
	for ready := false; !ready; {
		select {
		case err := <-done:
			t.Fatalf("make run ended before it served (%v):\n%s", err, tail([]byte(out.String())))
		case <-ctx.Done():
			t.Fatalf("make run not ready:\n%s", tail([]byte(out.String())))
		case <-time.After(200 * time.Millisecond):
		}
		if resp, err := client.Get("http://" + server + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	if got := out.String(); !strings.Contains(got, "make run: building bin/wxbackend") {
		t.Errorf("make run did not say what it builds:\n%s", tail([]byte(got)))
	}

	if _, err := terminal.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("make run still runs 30 s after Ctrl-C:\n%s", tail([]byte(out.String())))
	}
	got := out.String()
	if err != nil || strings.Contains(got, "make: ***") {
		t.Fatalf("Ctrl-C: %v, want exit status 0 and no make error:\n%s", err, tail([]byte(got)))
	}
	for _, addr := range []string{server, sandbox, echo} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still answers after Ctrl-C", addr)
		}
	}
}
