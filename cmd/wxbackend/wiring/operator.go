package wiring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/localfs"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/redisstore"
	"wxbackend/adapters/s3blob"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/system"
	"wxbackend/adapters/usercache"
	"wxbackend/adapters/wechat"
	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
	"wxbackend/ports"
)

// OperatorCommand is one of wxbackend's commands for operators:
//
//	users show <openid|phone|unionid>   users found, phones masked unless Reveal
//	users logout <openid>               every session of the user ended
//	users delete <openid>               sessions, avatar and row erased
//	sessions count                      about how many sessions are live
type OperatorCommand struct {
	Verb, Target string
	JSON, Reveal bool
	Out          io.Writer
}

// errMemorySessions explains why sessions kept in a server's memory are out
// of an operator command's reach.
var errMemorySessions = errors.New("the memory session store lives inside the server's process, out of this command's reach; " +
	"use WXB_SESSION_STORE=redis (or have the user call POST /api/v1/logout with all=true)")

// RunOperator runs an operator command with the server's configuration.
func RunOperator(cfg config.Config, cmd OperatorCommand) error {
	svc, memorySessions, closeAll, err := operatorService(cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	appID := cfg.WeChatApps()[0].AppID
	if cfg.Sandbox.Enabled && appID == "" {
		appID = sandboxAppID
	}
	id := domain.Identity{AppID: appID, OpenID: cmd.Target}
	switch cmd.Verb {
	case "users show":
		users, err := svc.FindUsers(ctx, "", cmd.Target)
		if err != nil {
			return err
		}
		return printUsers(cmd, users)
	case "users logout":
		if memorySessions {
			return errMemorySessions
		}
		if err := svc.LogoutUser(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(cmd.Out, "every session of %s in %s ended\n", id.OpenID, id.AppID)
	case "users delete":
		if err := svc.DeleteUser(ctx, id); err != nil {
			if domain.KindOf(err) == domain.KindNotFound {
				return fmt.Errorf("no user %s in %s", id.OpenID, id.AppID)
			}
			return err
		}
		fmt.Fprintf(cmd.Out, "user %s of %s deleted: row, avatar and sessions\n", id.OpenID, id.AppID)
		if memorySessions {
			fmt.Fprintln(cmd.Out, "(its sessions in a server's memory answer code 2 once they need the database, and at the latest when the server's copy of the user expires: WXB_USER_CACHE_TTL)")
		}
	case "sessions count":
		if memorySessions {
			return errMemorySessions
		}
		n, err := svc.CountSessions(ctx)
		if err != nil {
			return err
		}
		if cmd.JSON {
			return json.NewEncoder(cmd.Out).Encode(map[string]int{"sessions": n})
		}
		fmt.Fprintf(cmd.Out, "%d live sessions\n", n)
	default:
		return fmt.Errorf("unknown command %q", cmd.Verb)
	}
	return nil
}

// sandboxAppID is the sandbox's appid when the configuration names none.
const sandboxAppID = "wxsandbox000000000"

// operatorService builds the use cases on the server's stores, without
// serving anything.
func operatorService(cfg config.Config) (*app.Service, bool, func(), error) {
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	db, err := sqlstore.Open(cfg.DB)
	if err != nil {
		return nil, false, nil, err
	}
	closers = append(closers, func() { _ = db.Close() })
	clock := system.Clock{}
	var sessions ports.SessionStore
	var users ports.UserRepo = db.Users
	memorySessions := cfg.Sessions.Store != "redis"
	if memorySessions {
		sessions = memory.NewSessionStore(cfg.Memory, 0, 0, clock)
	} else {
		st, err := redisstore.NewSessionStore(cfg.Redis, 0, 0, clock)
		if err != nil {
			closeAll()
			return nil, false, nil, err
		}
		closers = append(closers, func() { _ = st.Close() })
		sessions = st
		if cfg.UserCache.TTL > 0 { // the servers' copies: a deleted user's goes too
			if users, err = usercache.New(db.Users, st.UserCache(), cfg.UserCache.TTL, nil, nil); err != nil {
				closeAll()
				return nil, false, nil, err
			}
		}
	}
	var blobs ports.BlobStore
	if cfg.Avatars.Store == "s3" {
		blobs, err = s3blob.New(cfg.S3)
	} else {
		blobs, err = localfs.New(cfg.AvatarDisk())
	}
	if err != nil {
		closeAll()
		return nil, false, nil, err
	}
	var apps []ports.WeChat
	for _, o := range cfg.WeChatApps() {
		if o.AppID == "" { // sandbox mode with no appid: the sandbox's own
			o.AppID, o.Secret = sandboxAppID, "unused"
		}
		c, err := wechat.NewClient(o)
		if err != nil {
			closeAll()
			return nil, false, nil, err
		}
		apps = append(apps, c)
	}
	svc, err := app.New(app.Deps{Sessions: sessions, Users: users, Decrypter: aescbc.NewDecrypter(), Apps: apps,
		Clock: clock, Tokens: system.TokenSource{}, Blobs: blobs}, cfg.App)
	if err != nil {
		closeAll()
		return nil, false, nil, err
	}
	return svc, memorySessions, closeAll, nil
}

// userRow is a user as the operator commands print it.
type userRow struct {
	AppID     string    `json:"appId"`
	OpenID    string    `json:"openId"`
	UnionID   string    `json:"unionId,omitempty"`
	NickName  string    `json:"nickName"`
	Phone     string    `json:"phone,omitempty"`
	AvatarURL string    `json:"avatarUrl,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func printUsers(cmd OperatorCommand, users []domain.User) error {
	rows := make([]userRow, len(users))
	for i, u := range users {
		phone := u.Phone.Masked()
		if cmd.Reveal {
			phone = u.Phone.PureNumber
		}
		rows[i] = userRow{AppID: u.AppID, OpenID: u.OpenID, UnionID: u.UnionID, NickName: u.Profile.NickName,
			Phone: phone, AvatarURL: u.Profile.AvatarURL, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	}
	if cmd.JSON {
		enc := json.NewEncoder(cmd.Out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(cmd.Out, "no user found")
		return nil
	}
	tw := tabwriter.NewWriter(cmd.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPID\tOPENID\tUNIONID\tNICKNAME\tPHONE\tUPDATED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.AppID, r.OpenID, r.UnionID, r.NickName, r.Phone, r.UpdatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
