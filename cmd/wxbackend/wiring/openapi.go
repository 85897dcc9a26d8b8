package wiring

import (
	"log/slog"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/app"
)

// openAPIRoute adds WeChat's server API for your services to the internal
// listener (when it is on): every path no other route has, with the app's
// shared access token, to the WeChat base URL baseURL only.
func openAPIRoute(o httpapi.OpenAPIOptions, baseURL string) fx.Option {
	return fx.Provide(fx.Annotate(func(a *app.App, log *slog.Logger) (httpapi.InternalRoute, error) {
		return httpapi.NewOpenAPIRoute(a, log, o, baseURL)
	}, fx.ResultTags(`group:"internal_routes"`)))
}
