package wiring

import (
	"log/slog"

	"go.uber.org/fx"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/system"
	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/ports"
)

// core provides the use cases and the adapters every configuration shares:
// the decrypter, the clock and the token source. Each app's WeChat is
// decorated so that its answers to the session check are reused for a while
// (memory.SessionChecks; outside the metrics decorator, so that the metrics
// count only the calls WeChat sees).
func core(o app.Options, m memory.Options) fx.Option {
	return fx.Module("core",
		fx.Provide(
			fx.Annotate(aescbc.NewDecrypter, fx.As(new(ports.Decrypter))),
			fx.Annotate(func() system.Clock { return system.Clock{} }, fx.As(new(ports.Clock))),
			fx.Annotate(func() system.TokenSource { return system.TokenSource{} }, fx.As(new(ports.TokenSource))),
			func(p serviceParams) (*app.App, error) {
				apps := make([]ports.WeChat, len(p.Apps))
				for i, wc := range p.Apps {
					apps[i] = memory.NewSessionChecks(wc, m.SessionCheckTTL, p.Clock)
				}
				return app.New(app.Deps{
					Sessions: p.Sessions, Users: p.Users, Decrypter: p.Decrypter,
					Apps: apps, Clock: p.Clock, Tokens: p.Tokens, Log: p.Log,
					Blobs: p.Blobs, Images: p.Images, AccessTokens: p.AccessTokens,
					Exchanges:    p.Limits.Exchanges,
					OpenAPIPaths: p.Config.OpenAPIPaths(), OpenAPILimiter: p.Limits.OpenAPI,
					Inbox: p.Inbox, PushApps: p.PushApps, Webhook: p.Webhook, PushObserver: p.PushObserver,
					Consents: p.Consents, Outbox: p.Outbox,
					MessageObserver: p.MessageObserver, LongTermTemplates: p.Config.LongTermTemplates(),
					MediaCheckApps: p.Config.MediaCheckApps(),
				}, o)
			},
		),
	)
}

type serviceParams struct {
	fx.In
	Sessions     ports.SessionStore
	Users        ports.UserRepo
	Decrypter    ports.Decrypter
	Apps         []ports.WeChat
	Clock        ports.Clock
	Tokens       ports.TokenSource
	Blobs        ports.BlobStore
	AccessTokens ports.TokenCache
	Images       ports.ImageProcessor
	Log          *slog.Logger
	Limits       Limiters
	Config       config.Config
	Inbox        ports.Inbox
	PushApps     []app.PushApp
	Webhook      ports.Webhook
	PushObserver ports.PushObserver
	Consents     ports.Consents `optional:"true"`
	Outbox       ports.Outbox   `optional:"true"`
	// MessageObserver is the metrics' (none without metrics).
	MessageObserver app.MessageObserver `optional:"true"`
}
