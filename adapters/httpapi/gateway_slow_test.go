package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/httpapi"
)

// slowUpstream reads each request's body whole, then answers with lines
// spaced by serverTimeout/2 for 2*serverTimeout: a stream that outlives
// the server's timeouts.
func slowUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range 4 {
			fmt.Fprintf(w, "data: %d of %d bytes\n\n", i, n)
			if rc.Flush() != nil {
				return
			}
			select {
			case <-time.After(serverTimeout / 2):
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(up.Close)
	return up
}

// An unauthenticated client on a public path cannot hold a connection (and
// one to the upstream) for the stream timeout by sending its headers and
// part of a body, then nothing: the body must arrive within the server's
// read timeout, as on every route without a token (code 1, HTTP 408).
func TestGateway_PublicSlowBodyGetsTheServersReadTimeout(t *testing.T) {
	g := newGatewayedTimeout(t, serverTimeout, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/",
		URL: slowUpstream(t).URL, Public: []string{"/app/pub/"}})
	c, err := net.Dial("tcp", strings.TrimPrefix(g.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /app/pub/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within 5 s to a body that stalled (server read timeout %v): %v", serverTimeout, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	wantRefusal(t, res, body, 1, http.StatusRequestTimeout)
}

// A public path still streams past the server's timeouts once its body is
// in, and a token's request may take its time sending one (an upload).
func TestGateway_BodiesInTimeStreamPastTheServersTimeouts(t *testing.T) {
	up := slowUpstream(t)
	g := newGatewayedTimeout(t, serverTimeout, httpapi.Limits{}, httpapi.Upstream{Name: "shop", Prefix: "/app/",
		URL: up.URL, Public: []string{"/app/pub/"}})
	tok := g.loginAs(t, "c1", "o-1", "")
	for name, c := range map[string]struct {
		path  string
		slow  bool
		token string
	}{
		"public, body in time":  {path: "/app/pub/x"},
		"token, slow body":      {path: "/app/x", slow: true, token: tok},
		"token, body in time":   {path: "/app/x", token: tok},
		"public, no body (GET)": {path: "/app/pub/y"},
	} {
		t.Run(name, func(t *testing.T) {
			var body io.Reader = strings.NewReader("hello")
			if c.slow {
				pr, pw := io.Pipe()
				go func() {
					_, _ = io.WriteString(pw, "hel")
					<-time.After(2 * serverTimeout) // a client on a slow network
					_, _ = io.WriteString(pw, "lo")
					pw.Close()
				}()
				body = pr
			}
			method := "POST"
			if strings.HasSuffix(name, "(GET)") {
				method, body = "GET", nil
			}
			req, _ := http.NewRequestWithContext(t.Context(), method, g.base+c.path, body)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, err := io.ReadAll(res.Body)
			n := 5
			if method == "GET" {
				n = 0
			}
			if err != nil || res.StatusCode != 200 || !strings.HasSuffix(string(got), fmt.Sprintf("data: 3 of %d bytes\n\n", n)) {
				var env json.RawMessage = got
				t.Fatalf("HTTP %d %s (%v)", res.StatusCode, env, err)
			}
		})
	}
}
