package wiring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/system"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
)

// Migrate brings the user database's schema up to date, for wxbackend
// migrate (deployments that migrate as a step of their own).
func Migrate(cfg config.Config, out io.Writer) error {
	st, err := sqlstore.Open(cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	v, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s schema at version %d\n", cfg.DB.Driver, v)
	return nil
}

// LogoutEverywhere ends every session of a user of the configured app, for
// an operator (a stolen phone, a support request). Sessions kept in a
// server's memory are out of reach of another process: it needs Redis
// sessions (a user can still log out everywhere through the API).
func LogoutEverywhere(cfg config.Config, openID string, out io.Writer) error {
	if cfg.Sessions.Store != "redis" {
		return errors.New("logout: the memory session store lives inside the server's process; " +
			"with WXB_SESSION_STORE=memory, restart the server or have the user call POST /api/v1/logout with all=true")
	}
	appID := cfg.WeChat.AppID
	st, err := redisstore.NewSessionStore(cfg.Redis, 0, 0, system.Clock{})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.DeleteAll(ctx, domain.Identity{AppID: appID, OpenID: openID}); err != nil {
		return err
	}
	fmt.Fprintf(out, "every session of %s in %s ended\n", openID, appID)
	return nil
}
