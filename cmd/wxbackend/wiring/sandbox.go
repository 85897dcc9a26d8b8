package wiring

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/fx"

	"wxbackend/adapters/wechat"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/internal/sim/sandbox"
)

// SandboxEndpoint is the WeChat sandbox a server in sandbox mode runs: one
// per app, behind one address.
type SandboxEndpoint struct {
	Sandbox *sandbox.Sandbox // the first (or only) app's
	Multi   *sandbox.Multi   // every app's
	URL     string           // its base URL, for the WeChat clients and for people
}

// sandboxMode runs the WeChat sandbox on its loopback address when the
// configuration asks for it, and tells the person at the terminal what to do
// once the server listens.
func sandboxMode(c config.Sandbox, apps []wechat.Options, out io.Writer) fx.Option {
	if !c.Enabled {
		return fx.Options()
	}
	return fx.Module("sandbox",
		fx.Provide(
			func(lc fx.Lifecycle) (*SandboxEndpoint, error) {
				// Listening now, not at start, gives the WeChat client the
				// real port when the address asks for any (":0").
				ln, err := sandbox.Listen(c.Addr)
				if err != nil {
					return nil, err
				}
				var opts []sandbox.Options
				for _, a := range apps {
					opts = append(opts, sandbox.Options{AppID: a.AppID, AppSecret: a.Secret.Reveal(), UnionIDs: len(apps) > 1})
				}
				multi := sandbox.NewMulti(opts)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				lc.Append(fx.Hook{
					OnStart: func(context.Context) error {
						go func() { done <- multi.Serve(ctx, ln) }()
						return nil
					},
					OnStop: func(context.Context) error {
						cancel()
						return <-done
					},
				})
				return &SandboxEndpoint{Sandbox: multi.Apps()[0], Multi: multi, URL: "http://" + ln.Addr().String()}, nil
			},
			fx.Annotate(
				func(sb *SandboxEndpoint, cfg config.Config) OnServing {
					return func(addr string) { printSandboxBanner(out, sb, addr, cfg) }
				},
				fx.ResultTags(`group:"serving"`)),
		),
	)
}

func printSandboxBanner(out io.Writer, sb *SandboxEndpoint, addr string, cfg config.Config) {
	fmt.Fprintf(out, `
  wxbackend is serving http://%s with a WeChat SANDBOX (appid %s) on %s
  users: %s (%s); sessions: %s

  Next, in another terminal:
    make demo                       a simulated mini-program logs in and saves a profile
    go run ./cmd/wxsim -help        drive the flow yourself (users, emoji, classic routes)

  To talk to the real WeChat instead, set WXB_WECHAT_APP_ID and WXB_WECHAT_APP_SECRET.

`, addr, sb.Sandbox.AppID(), sb.URL, cfg.DB.Driver, cfg.DB.DSN, cfg.Sessions.Store)
}
