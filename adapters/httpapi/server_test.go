package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/httpapi"
)

// startServer serves h on a loopback port with the read timeout given, and
// returns its address.
func startServer(t *testing.T, h http.Handler, log *slog.Logger, readTimeout time.Duration) string {
	t.Helper()
	s := httpapi.NewServer(h, log, httpapi.ServerOptions{Addr: "127.0.0.1:0", ReadHeaderTimeout: time.Second,
		ReadTimeout: readTimeout, WriteTimeout: 5 * time.Second, IdleTimeout: time.Second, ShutdownTimeout: time.Second})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(t.Context()) })
	return s.Addr()
}

// A body that stalls past the server's read timeout is a slow client, not
// one that cancelled: HTTP 408, code 1, logged at INFO and no server fault,
// on every route that reads a body (a JSON body and an avatar upload).
func TestServer_BodyPastTheReadTimeoutIs408(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	var logs syncBuilder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newRouterWith(t, f.app, log, httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		AvatarMaxBytes: 256 << 10, AvatarMaxUploads: 16}, f.clock, httpapi.Limits{})
	addr := startServer(t, h, log, 300*time.Millisecond)

	for _, c := range []struct{ name, head, part string }{
		{"JSON body", "POST /api/v1/me/profile HTTP/1.1\r\nContent-Type: application/json\r\n", `{"nickName":"`},
		{"avatar upload", "POST /api/v1/me/avatar HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=" + uploadBoundary + "\r\n",
			"--" + uploadBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\x89PNG"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		// A part of the body sent, then nothing more: the connection stays open.
		fmt.Fprintf(conn, "%sHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n%s", c.head, tok, c.part)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		conn.Close()
		var env struct{ Code, Status int }
		_ = json.Unmarshal(body, &env)
		if resp.StatusCode != http.StatusRequestTimeout || env.Code != 1 || env.Status != 1 {
			t.Errorf("%s stalled past the read timeout: HTTP %d %s, want HTTP 408 code 1", c.name, resp.StatusCode, body)
		}
	}
	out := logs.String()
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "client_gone") || !strings.Contains(out, "level=INFO msg=\"request failed\"") {
		t.Errorf("logs, want the timeouts at INFO, no error and no client_gone:\n%s", out)
	}
}

// syncBuilder is a strings.Builder the server's goroutines may write to
// while the test reads it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
