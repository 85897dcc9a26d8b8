package wiring

import (
	"go.uber.org/fx"

	"wxbackend/adapters/wechat"
	"wxbackend/config/setting"
	"wxbackend/ports"
)

// weChat provides one WeChat API client per app served: WeChat's own, or
// the sandbox's when sandbox mode runs one.
func weChat(apps []wechat.Options) fx.Option {
	return fx.Module("wechat",
		fx.Provide(fx.Annotate(
			func(lc fx.Lifecycle, sb *SandboxEndpoint) ([]ports.WeChat, error) {
				var out []ports.WeChat
				for _, o := range apps {
					if sb != nil {
						app := sb.Multi.App(o.AppID)
						if app == nil {
							app = sb.Sandbox // one app, with the sandbox's own appid
						}
						o.AppID, o.Secret, o.BaseURL = app.AppID(), setting.Secret(app.AppSecret()), sb.URL
					}
					c, err := wechat.NewClient(o)
					if err != nil {
						return nil, err
					}
					lc.Append(fx.StopHook(c.Close))
					out = append(out, c)
				}
				return out, nil
			},
			fx.ParamTags(``, `optional:"true"`))),
	)
}
