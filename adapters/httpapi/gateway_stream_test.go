package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"wxbackend/adapters/httpapi"
)

// serverTimeout is the read and write timeout of the server in front of the
// stream tests: each stream outlives it.
const serverTimeout = 250 * time.Millisecond

// Server-sent events arrive one by one as the upstream sends them (each
// event is acknowledged before the next is sent), and the stream lives past
// the server's write timeout.
func TestGateway_ServerSentEventsArriveAsSent(t *testing.T) {
	const events = 4
	ack := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 1; i <= events; i++ {
			fmt.Fprintf(w, "data: %d %s\n\n", i, r.Header.Get("X-Wx-Openid"))
			if err := rc.Flush(); err != nil {
				return
			}
			select {
			case <-ack:
			case <-r.Context().Done():
				return
			}
			<-time.After(serverTimeout / 2) // an upstream in no hurry
		}
	}))
	t.Cleanup(up.Close)
	g := newGatewayedTimeout(t, serverTimeout, httpapi.Limits{}, httpapi.Upstream{Name: "events", Prefix: "/app/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-1", "")

	req, _ := http.NewRequestWithContext(t.Context(), "GET", g.base+"/app/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	start := time.Now()
	lines := bufio.NewScanner(res.Body)
	for i := 1; i <= events; i++ {
		var got string
		for lines.Scan() && lines.Text() != "" {
			got = lines.Text()
		}
		if want := fmt.Sprintf("data: %d o-1", i); got != want {
			t.Fatalf("event %d: %q (%v)", i, got, lines.Err())
		}
		ack <- struct{}{}
	}
	if d := time.Since(start); d < serverTimeout {
		t.Fatalf("the stream lasted %v, not past the server's write timeout", d)
	}
}

// A WebSocket is upgraded through the gateway with the identity headers,
// and echoes past the server's read and write timeouts.
func TestGateway_WebSocketEchoes(t *testing.T) {
	openid := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		openid <- r.Header.Get("X-Wx-Openid")
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for i := 0; ; i++ {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if i > 0 {
				<-time.After(2 * serverTimeout) // answers slower than the server's timeouts
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo "), msg...)); err != nil {
				return
			}
		}
	}))
	t.Cleanup(up.Close)
	g := newGatewayedTimeout(t, serverTimeout, httpapi.Limits{}, httpapi.Upstream{Name: "ws", Prefix: "/app/", URL: up.URL})
	tok := g.loginAs(t, "c1", "o-1", "")
	ws := "ws" + strings.TrimPrefix(g.base, "http") + "/app/ws"

	if _, res, err := websocket.Dial(t.Context(), ws, nil); err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("without a token: %v", err)
	}
	c, _, err := websocket.Dial(t.Context(), ws, &websocket.DialOptions{HTTPHeader: http.Header{
		"Authorization": {"Bearer " + tok}, "X-WX-OPENID": {"evil"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := <-openid; got != "o-1" {
		t.Fatalf("the upstream's X-WX-OPENID: %q", got)
	}
	for _, msg := range []string{"hello", "still there"} {
		if err := c.Write(t.Context(), websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(t.Context())
		if err != nil || string(got) != "echo "+msg {
			t.Fatalf("echo %q: %v", got, err)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
	g.waitObserved(t, "ws Switching Protocols")
}

// A stream that never ends is cut at the upstream's stream timeout: the
// server's timeouts no longer bound it, this does.
func TestGateway_StreamTimeoutEndsAnEndlessStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done() // never sends more, never ends by itself
	}))
	t.Cleanup(up.Close)
	g := newGatewayedTimeout(t, 5*time.Second, httpapi.Limits{}, httpapi.Upstream{Name: "endless", Prefix: "/app/", URL: up.URL,
		Timeout: httpapi.Duration{Duration: 100 * time.Millisecond}, StreamTimeout: httpapi.Duration{Duration: 300 * time.Millisecond}})
	tok := g.loginAs(t, "c1", "o-1", "")
	req, _ := http.NewRequestWithContext(t.Context(), "GET", g.base+"/app/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	ended := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(res.Body) // until the gateway cuts the stream
		ended <- string(b)
	}()
	select {
	case got := <-ended:
		if !strings.HasPrefix(got, "data: first") {
			t.Fatalf("stream %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived its stream timeout by seconds")
	}
	g.waitObserved(t, "endless OK")
}
