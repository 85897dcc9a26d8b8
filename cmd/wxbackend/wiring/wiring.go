// Package wiring is wxbackend's composition root: the one place that knows
// every adapter. It reads the configuration, chooses the adapters, binds them
// to the ports with go.uber.org/fx and runs them for the process's lifetime.
//
// One file per job:
//
//	wiring.go   the graph: which modules make a server
//	core.go     the use cases and the adapters every configuration shares
//	sessions.go the session store (memory or Redis) and the rate limiters kept with it
//	users.go    the user database (SQLite, MySQL, PostgreSQL), its migrations and its cache
//	avatars.go  the image processor, the blob store avatars are kept in, and
//	            the server's collector of avatars no user has
//	wechat.go   the WeChat API client
//	http.go     the HTTP server
//	internal.go the internal listener for other services, its API keys and their reloads
//	openapi.go  its route of WeChat's server API for your services
//	keys.go     the operator's keys commands (new, list)
//	pprof.go    the optional profiling listener
//	metrics.go  the optional Prometheus listener, and the decorators that measure
//	logger.go   the process's logger
//	commands.go the one-shot command migrate, and the commands' ErrNotFound (exit status 1)
//	operator.go the operator's commands (users, sessions, avatars), on the server's modules
//	push.go     WeChat's message push: the inbox, the webhooks, the delivery worker
//	events.go   the operator's commands on pushed events (list, show, replay)
//	messages.go subscribe messages: the consent ledger, the outbox, its worker and routes
//	messageops.go the operator's commands on subscribe messages (list, show, retry)
//	mediacheck.go the sweeper of avatars whose WeChat check never answered
//	storewatch.go the server's watch on its stores: one log line when one stops answering
//	background.go how a background job runs for the server's lifetime, and how
//	            an operator's command starts the stores
//
// Start order follows from dependencies, not from the order of this list: fx
// starts a component after everything it was built from. The database is
// migrated before the service that uses it exists; the HTTP server listens
// last, and what must wait for its address hooks onto its start.
package wiring

import (
	"io"

	"go.uber.org/fx"

	"wxbackend/cmd/wxbackend/config"
)

// Options builds the whole server from cfg, logging to logOut: the
// modules the operator's commands share with it, and what serves.
func Options(cfg config.Config, logOut io.Writer) fx.Option {
	return fx.Options(
		stores(cfg, logOut),
		httpServer(cfg.Server, cfg.HTTP, cfg.Avatars.Store == "local"),
		avatarCollector(cfg.Avatars),
		avatarCheckSweeper(), // avatars whose check timed out (mediacheck.go)
		pushWorker(cfg.App.Push),
		messageWorker(cfg.App.Messages), // the outbox's (messages.go)
		pprofListener(cfg.Debug),
		metricsListener(cfg.Metrics),
		internalListener(cfg.Server, cfg.Internal, cfg.APIKeys),
		openAPIRoute(cfg.OpenAPI, cfg.WeChat.BaseURL),
		storeWatch(), // a store that stops answering is logged, once (storewatch.go)
	)
}

// stores builds the use cases on the configured stores and WeChat clients,
// serving nothing: the server's core, and all the operator's commands need.
func stores(cfg config.Config, logOut io.Writer) fx.Option {
	return fx.Options(
		fx.Supply(cfg),
		logging(cfg.Log, logOut),
		core(cfg.App, cfg.Memory),
		sessionStore(cfg.Sessions, cfg.App.SessionTTL, cfg.Memory, cfg.Redis, cfg.Limits, cfg.AppLimits(), cfg.UserCache),
		userDatabase(cfg.DB),
		userCache(cfg.UserCache),
		avatarStore(cfg.Avatars, cfg.Images, cfg.AvatarDisk(), cfg.S3),
		weChat(cfg.WeChatApps()),
		pushInbox(cfg),
		messages(),
	)
}
