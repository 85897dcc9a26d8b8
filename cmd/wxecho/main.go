// Command wxecho is the demo's service behind wxbackend's built-in gateway
// (internal/sim/echo): it answers every request with the headers it
// received, as JSON. make run starts it on ECHO_ADDR and routes the
// gateway's /app/ to it.
//
//	wxecho [-addr 127.0.0.1:8070]
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"wxbackend/internal/sim/echo"
)

func main() {
	fs := flag.NewFlagSet("wxecho", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8070", "listen address (loopback: only the gateway should reach it)")
	_ = fs.Parse(os.Args[1:])
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wxecho:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "wxecho: answering the headers it gets on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: echo.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "wxecho:", err)
		os.Exit(1)
	}
}
