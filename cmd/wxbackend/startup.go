package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"go.uber.org/dig"
	"go.uber.org/fx"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
)

// serve builds the server from the configuration and serves until SIGINT
// or SIGTERM, then stops gracefully: fx's App.Run, except that a failed
// start is returned as one line naming what failed (explainStart), not
// logged by fx and exited on.
func (c cli) serve(flags *config.Flags) error {
	cfg, err := flags.Config()
	if err != nil {
		return err
	}
	limitMemory(cfg.Runtime.MemoryLimit, c.env)
	app := fx.New(wiring.Options(cfg, c.stderr), fx.StopTimeout(cfg.Server.ShutdownTimeout+5*time.Second))
	if err := app.Err(); err != nil {
		return explainStart(cfg, err)
	}
	start, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(start); err != nil {
		return explainStart(cfg, err)
	}
	<-app.Wait()
	stop, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel()
	return app.Stop(stop)
}

// hint is what to do about a store that does not answer.
const hint = "is it running? bash .ci/services starts the local ones"

// explainStart turns a failed start into one line that names the setting
// or the server that failed and what to do: a listener's address in use,
// the user database or Redis not answering. Anything else is its root
// cause (fx's chain of constructors is in the WXB_DEBUG trace).
func explainStart(cfg config.Config, err error) error {
	if cfg.Log.Debug {
		return fmt.Errorf("start failed: %w", err)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "listen" {
		what, setting := listenerOf(cfg, op.Addr)
		return fmt.Errorf("cannot listen on %s, the %s's address (%s): %v; stop what listens there (another make run?) or set %s to another address (WXB_DEBUG=1 for the whole trace)",
			addrOf(op.Addr), what, setting, unwrapped(op.Err), setting)
	}
	if explained := explainStore(cfg, err); explained != nil {
		return fmt.Errorf("%w (WXB_DEBUG=1 for the whole trace)", explained)
	}
	return fmt.Errorf("start failed: %v (WXB_DEBUG=1 for the whole trace)", dig.RootCause(err))
}

// explainStore names the store err comes from, with its settings (the DSN
// redacted) and what to do, or returns nil when err names none: Redis when
// it failed to reach one of WXB_REDIS_ADDRS, the user database when the
// error is the database's (a dial error of no other server, or its
// migration's).
func explainStore(cfg config.Config, err error) error {
	cause := dig.RootCause(err)
	var op *net.OpError
	dialed := errors.As(err, &op) && op.Op == "dial"
	if dialed {
		for _, a := range cfg.Redis.Addrs {
			if sameAddr(a, op.Addr) {
				return fmt.Errorf("Redis at %s (WXB_REDIS_ADDRS) does not answer: %v; %s", a, unwrapped(op.Err), hint)
			}
		}
	}
	text := err.Error()
	database := strings.Contains(text, "migrate "+cfg.DB.Driver+":") || strings.Contains(text, "sqlstore")
	if dialed && !strings.Contains(text, "redis") && !strings.Contains(text, "s3") || database {
		db := fmt.Sprintf("the user database (WXB_DB_DRIVER=%s, WXB_DB_DSN=%s)", cfg.DB.Driver, cfg.DB.DSN)
		if dialed {
			return fmt.Errorf("%s does not answer: %v; %s", db, unwrapped(op.Err), hint)
		}
		if cfg.DB.Driver == "sqlite" { // a file: no server, user or database to check
			return fmt.Errorf("%s failed: %v; check WXB_DB_DSN (the file's folder exists and is writable)", db, cause)
		}
		return fmt.Errorf("%s failed: %v; check WXB_DB_DSN (its server, user and database)", db, cause)
	}
	if dialed && strings.Contains(text, "redis") {
		return fmt.Errorf("Redis (WXB_REDIS_ADDRS=%s) does not answer: %v; %s", strings.Join(cfg.Redis.Addrs, ","), unwrapped(op.Err), hint)
	}
	return nil
}

// listenerOf names the listener whose address is addr, and its setting.
func listenerOf(cfg config.Config, addr net.Addr) (what, setting string) {
	internal := ""
	if cfg.APIKeys.File != "" { // the internal listener is off without keys
		internal = cfg.Internal.Addr
	}
	for _, l := range []struct{ what, setting, addr string }{
		{"server", "WXB_HTTP_ADDR", cfg.Server.Addr},
		{"internal listener", "WXB_INTERNAL_ADDR", internal},
		{"metrics listener", "WXB_METRICS_ADDR", cfg.Metrics.ListenAddr()},
		{"profiling listener", "WXB_HTTP_DEBUG_ADDR", cfg.Debug.Addr},
	} {
		if l.addr != "" && sameAddr(l.addr, addr) {
			return l.what, l.setting
		}
	}
	return "server", "WXB_HTTP_ADDR"
}

// sameAddr tells whether the configured host:port is addr, by port (the
// host may be a name, or empty for every interface).
func sameAddr(configured string, addr net.Addr) bool {
	_, port, err := net.SplitHostPort(configured)
	if err != nil || addr == nil {
		return false
	}
	_, got, err := net.SplitHostPort(addr.String())
	return err == nil && port == got
}

func addrOf(a net.Addr) string {
	if a == nil {
		return "?"
	}
	return a.String()
}

// unwrapped is a socket error without its syscall's name: "address
// already in use", "connection refused".
func unwrapped(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}
