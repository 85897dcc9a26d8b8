package wiring

import (
	"go.uber.org/fx"

	"wxbackend/adapters/wechat"
	"wxbackend/ports"
)

// weChat provides one WeChat API client per app served, at the configured
// base URL: WeChat's own, or a stand-in such as the sandbox make run starts.
func weChat(apps []wechat.Options) fx.Option {
	return fx.Module("wechat",
		fx.Provide(func(lc fx.Lifecycle) ([]ports.WeChat, error) {
			var out []ports.WeChat
			for _, o := range apps {
				c, err := wechat.NewClient(o)
				if err != nil {
					return nil, err
				}
				lc.Append(fx.StopHook(c.Close))
				out = append(out, c)
			}
			return out, nil
		}),
	)
}
