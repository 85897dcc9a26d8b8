// Command wxsandbox serves the WeChat sandbox on its own, for a backend
// started with WXB_WECHAT_BASE_URL pointing at it (or any other backend
// under test). It listens on loopback only.
//
//	wxsandbox [-addr 127.0.0.1:8090] [-app-id ...] [-app-secret ...] [-unionid]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"wxbackend/internal/sim/sandbox"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wxsandbox:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("wxsandbox", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "loopback address to listen on")
	appID := fs.String("app-id", sandbox.DefaultAppID, "the app's appid")
	secret := fs.String("app-secret", sandbox.DefaultAppSecret, "the app's secret")
	unionIDs := fs.Bool("unionid", false, "send a unionid, as for apps bound to an Open Platform account")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := sandbox.Listen(*addr)
	if err != nil {
		return err
	}
	sb := sandbox.New(sandbox.Options{AppID: *appID, AppSecret: *secret, UnionIDs: *unionIDs})
	fmt.Fprintf(os.Stderr, "WeChat sandbox for appid %s on http://%s\n"+
		"  backend: WXB_WECHAT_BASE_URL=http://%s WXB_WECHAT_APP_ID=%s WXB_WECHAT_APP_SECRET=...\n"+
		"  phone:   POST /sandbox/wx/login {\"user\":\"alice\"}, POST /sandbox/wx/getUserInfo, PUT /sandbox/users/alice/profile\n",
		*appID, ln.Addr(), ln.Addr(), *appID)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sb.Serve(ctx, ln)
}
