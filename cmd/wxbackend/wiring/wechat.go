package wiring

import (
	"go.uber.org/fx"

	"wxbackend/adapters/wechat"
	"wxbackend/config/setting"
	"wxbackend/ports"
)

// weChat provides the WeChat API client: WeChat's own, or the sandbox's when
// sandbox mode runs one.
func weChat(o wechat.Options) fx.Option {
	return fx.Module("wechat",
		fx.Provide(fx.Annotate(
			func(lc fx.Lifecycle, sb *SandboxEndpoint) (*wechat.Client, error) {
				if sb != nil {
					o.AppID, o.Secret, o.BaseURL = sb.Sandbox.AppID(), setting.Secret(sb.Sandbox.AppSecret()), sb.URL
				}
				c, err := wechat.NewClient(o)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.StopHook(c.Close))
				return c, nil
			},
			fx.ParamTags(``, `optional:"true"`),
			fx.As(new(ports.WeChat)))),
	)
}
