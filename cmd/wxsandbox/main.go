// Command wxsandbox serves the WeChat sandbox on its own, for a backend
// started with WXB_WECHAT_BASE_URL pointing at it (make run starts one so),
// or any other backend under test. It listens on loopback only: it logs
// anyone in as anyone.
//
//	wxsandbox [-addr 127.0.0.1:8090] [-app-id ...] [-app-secret ...] [-unionid]
//	wxsandbox [-addr 127.0.0.1:8090] -apps-file apps.toml
//
// With -apps-file it serves every app of the server's apps file (the same
// file as WXB_APPS_FILE), each with its own users and keys, with unionids.
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wxsandbox:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("wxsandbox", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "loopback address to listen on")
	appID := fs.String("app-id", sandbox.DefaultAppID, "the app's appid")
	secret := fs.String("app-secret", sandbox.DefaultAppSecret, "the app's secret")
	unionIDs := fs.Bool("unionid", false, "send a unionid, as for apps bound to an Open Platform account")
	appsFile := fs.String("apps-file", "", "serve every app of this apps file (the server's WXB_APPS_FILE) instead of -app-id")
	pushToken := fs.String("push-token", "", "the app's message push Token, for POST /sandbox/push (the server's WXB_WECHAT_PUSH_TOKEN)")
	pushKey := fs.String("push-aes-key", "", "the app's EncodingAESKey (the server's WXB_WECHAT_PUSH_ENCODING_AES_KEY); empty: plain mode")
	webhookSecret := fs.String("webhook-secret", "", "the secret of deliveries to POST /sandbox/webhook (the server's WXB_WECHAT_PUSH_WEBHOOK_SECRET)")
	pushURL := fs.String("push-url", "", "the server's push URL, {appid} standing for each app's (e.g. http://127.0.0.1:8080/wechat/push/{appid}): each subscribe message sent is pushed there as subscribe_msg_sent_event on its own, as WeChat does; empty: by POST /sandbox/subscribe/push only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []sandbox.Options{{AppID: *appID, AppSecret: *secret, UnionIDs: *unionIDs,
		Push: sandbox.PushApp{Token: *pushToken, EncodingAESKey: *pushKey}, WebhookSecret: *webhookSecret}}
	if *appsFile != "" {
		var err error
		if opts, err = appsOf(*appsFile); err != nil {
			return err
		}
	}
	if *pushURL != "" {
		for i := range opts {
			opts[i].Push.URL = strings.ReplaceAll(*pushURL, "{appid}", opts[i].AppID)
		}
	}
	ln, err := sandbox.Listen(*addr)
	if err != nil {
		return err
	}
	multi := sandbox.NewMulti(opts)
	var ids []string
	for _, sb := range multi.Apps() {
		ids = append(ids, sb.AppID())
	}
	backend := fmt.Sprintf("WXB_WECHAT_APP_ID=%s WXB_WECHAT_APP_SECRET=...", ids[0])
	if *appsFile != "" {
		backend = "WXB_APPS_FILE=" + *appsFile
	}
	fmt.Fprintf(out, "WeChat sandbox for appid %s on http://%s\n"+
		"  backend: WXB_WECHAT_BASE_URL=http://%s %s\n"+
		"  phone:   POST /sandbox/wx/login {\"user\":\"alice\"}, POST /sandbox/wx/getUserInfo, PUT /sandbox/users/alice/profile\n",
		strings.Join(ids, ", "), ln.Addr(), ln.Addr(), backend)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return multi.Serve(ctx, ln)
}

// appsOf reads the apps of a server's apps file, as the server does: the
// same file gives the sandbox and the server the same appids and secrets.
// Several apps send unionids, as apps of one Open Platform account do.
func appsOf(file string) ([]sandbox.Options, error) {
	cfg, err := config.Load([]string{"--apps-file", file}, func(string) (string, bool) { return "", false }, io.Discard)
	if err != nil {
		return nil, err
	}
	apps := cfg.WeChatApps()
	push := map[string]sandbox.PushApp{}
	for _, p := range cfg.PushApps() {
		a := sandbox.PushApp{AppID: p.AppID, Token: p.Token}
		if len(p.Keys) > 0 { // the EncodingAESKey is the key's base64 without its "="
			a.EncodingAESKey = base64.StdEncoding.EncodeToString(p.Keys[0][:])[:domain.PushKeyLen]
		}
		push[p.AppID] = a
	}
	hooks := cfg.WebhookTargets()
	var opts []sandbox.Options
	for _, a := range apps {
		opts = append(opts, sandbox.Options{AppID: a.AppID, AppSecret: a.Secret.Reveal(), UnionIDs: len(apps) > 1,
			Push: push[a.AppID], WebhookSecret: hooks[a.AppID].Secret.Reveal()})
	}
	return opts, nil
}
