// Command wxecho is the demo's service behind wxbackend's built-in gateway
// (internal/sim/echo): it answers every request with the headers it
// received, as JSON. make run starts it on ECHO_ADDR and routes the
// gateway's /app/ to it.
//
// With -proxy it is instead a bare Go reverse proxy to that URL, with no
// authentication and no identity: make bench's floor for a proxy hop
// (what the built-in gateway costs beyond it is wxbackend's own).
//
//	wxecho [-addr 127.0.0.1:8070] [-proxy http://127.0.0.1:9000]
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"wxbackend/internal/sim/echo"
)

func main() {
	fs := flag.NewFlagSet("wxecho", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8070", "listen address (loopback: only the gateway should reach it)")
	proxy := fs.String("proxy", "", "forward every request to this URL instead of answering (a bare reverse proxy, for make bench)")
	_ = fs.Parse(os.Args[1:])
	handler := echo.Handler()
	if *proxy != "" {
		target, err := url.Parse(*proxy)
		if err != nil || target.Host == "" {
			fmt.Fprintln(os.Stderr, "wxecho: -proxy: not a URL:", *proxy)
			os.Exit(2)
		}
		// The built-in gateway's transport settings (adapters/httpapi),
		// so the two hops differ only by what wxbackend adds.
		rp := httputil.NewSingleHostReverseProxy(target)
		rp.Transport = &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second}
		handler = rp
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wxecho:", err)
		os.Exit(1)
	}
	if *proxy != "" {
		fmt.Fprintf(os.Stderr, "wxecho: forwarding http://%s to %s\n", ln.Addr(), *proxy)
	} else {
		fmt.Fprintf(os.Stderr, "wxecho: answering the headers it gets on http://%s\n", ln.Addr())
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "wxecho:", err)
		os.Exit(1)
	}
}
