package wiring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"wxbackend/app"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
)

// OperatorCommand is one of wxbackend's commands for operators:
//
//	users show <openid|phone|unionid>   users found, phones masked unless Reveal
//	users logout <openid>               every session of the user ended
//	users delete <openid>               sessions, avatar and row erased
//	sessions count                      about how many sessions are live
//	avatars collect                     stored avatars no user has deleted,
//	                                    once older than the grace setting
//
// App names the mini-program a user belongs to; it may be empty only when
// one app is configured.
type OperatorCommand struct {
	Verb, Target string
	App          string
	JSON, Reveal bool
	// DryRun and Force are avatars collect's (app.CollectOptions).
	DryRun, Force bool
	Out           io.Writer
	// Log receives the log lines of the stores and use cases (nil: none).
	Log io.Writer
}

// errMemorySessions explains why sessions kept in a server's memory are out
// of an operator command's reach.
var errMemorySessions = errors.New("the memory session store lives inside the server's process, out of this command's reach; " +
	"use WXB_SESSION_STORE=redis (or have the user call POST /api/v1/logout with all=true)")

// collectTimeout bounds wxbackend avatars collect.
const collectTimeout = time.Hour

// RunOperator runs an operator command on the server's own modules, built
// from cfg as the server builds them (its stores, its apps), serving nothing.
func RunOperator(cfg config.Config, cmd OperatorCommand) error {
	appID, err := operatorApp(cfg, cmd)
	if err != nil {
		return err
	}
	a, stop, err := startStores(commandApps(cfg, appID), cmd.Log)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := a.Operator
	memorySessions := cfg.Sessions.Store != "redis"
	id := domain.Identity{AppID: appID, OpenID: cmd.Target}
	switch cmd.Verb {
	case "users show":
		users, err := svc.FindUsers(ctx, appID, cmd.Target)
		if err != nil {
			return err
		}
		if err := printUsers(cmd, users); err != nil {
			return err
		}
		if len(users) == 0 {
			return notFoundf("no user %s in %s", printable(cmd.Target), appID)
		}
		return nil
	case "users logout":
		if memorySessions {
			return errMemorySessions
		}
		if err := svc.LogoutUser(ctx, id); err != nil {
			if domain.KindOf(err) == domain.KindNotFound {
				return notFoundf("no user %s in %s", printable(id.OpenID), id.AppID)
			}
			return err
		}
		fmt.Fprintf(cmd.Out, "every session of %s in %s ended\n", printable(id.OpenID), id.AppID)
	case "users delete":
		if err := svc.DeleteUser(ctx, id); err != nil {
			if domain.KindOf(err) == domain.KindNotFound {
				return notFoundf("no user %s in %s", printable(id.OpenID), id.AppID)
			}
			return err
		}
		fmt.Fprintf(cmd.Out, "user %s of %s deleted: row, avatar and sessions\n", printable(id.OpenID), id.AppID)
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
	case "avatars collect":
		// A large bucket takes longer to list than a minute.
		ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
		defer cancel()
		grace := cfg.Avatars.CollectGrace
		res, err := a.CollectAvatars.Handle(ctx, app.CollectOptions{Grace: grace, DryRun: cmd.DryRun, Force: cmd.Force})
		if cmd.JSON {
			if jerr := json.NewEncoder(cmd.Out).Encode(map[string]any{"listed": res.Listed, "old": res.Old, "unused": res.Unused,
				"deleted": res.Deleted, "failed": res.Failed, "graceSeconds": int(grace.Seconds()), "dryRun": cmd.DryRun}); jerr != nil {
				return jerr
			}
		} else {
			fmt.Fprintf(cmd.Out, "%d avatars stored, %d older than %v, %d of those no user has", res.Listed, res.Old, grace, res.Unused)
			if cmd.DryRun {
				fmt.Fprint(cmd.Out, " (dry run: nothing deleted)")
			} else {
				fmt.Fprintf(cmd.Out, ", %d deleted", res.Deleted)
			}
			if res.Failed > 0 {
				fmt.Fprintf(cmd.Out, ", %d not deleted", res.Failed)
			}
			fmt.Fprintln(cmd.Out)
		}
		return err
	default:
		return fmt.Errorf("unknown command %q", cmd.Verb)
	}
	return nil
}

// operatorApp is the app a command acts on: cmd.App, which must be
// configured, or the one app configured. "sessions count" counts every app's.
// With no app configured (a command needs no WeChat credentials), cmd.App
// names it.
func operatorApp(cfg config.Config, cmd OperatorCommand) (string, error) {
	var ids []string
	for _, o := range cfg.WeChatApps() {
		if o.AppID != "" {
			ids = append(ids, o.AppID)
		}
	}
	switch {
	case len(ids) == 0 && (cmd.Verb == "sessions count" || cmd.Verb == "avatars collect"):
		return cmd.App, nil
	case len(ids) == 0 && cmd.App == "":
		return "", fmt.Errorf("%s: no app is configured (WXB_WECHAT_APP_ID or WXB_APPS_FILE): name it with --app", cmd.Verb)
	case len(ids) == 0:
		return cmd.App, nil
	case cmd.App != "":
		if !slices.Contains(ids, cmd.App) {
			return "", fmt.Errorf("--app %s is not a configured app (configured: %s)", printable(cmd.App), strings.Join(ids, ", "))
		}
		return cmd.App, nil
	case len(ids) == 1 || cmd.Verb == "sessions count" || cmd.Verb == "avatars collect":
		return ids[0], nil
	default:
		return "", fmt.Errorf("%s: several apps are configured (%s): name one with --app", cmd.Verb, strings.Join(ids, ", "))
	}
}

// commandApps is cfg for a command's stores. A command calls no WeChat API
// and needs no credentials, but the use cases are built as the server's,
// with a client per app: the one app configured without its secret gets a
// stand-in secret, and with no app configured, the app the command names
// (appID; or a stand-in, for a command of every app) is the one.
func commandApps(cfg config.Config, appID string) config.Config {
	if cfg.Apps.File != "" {
		return cfg // the file's apps each have their secret (config checks)
	}
	if cfg.WeChat.AppID == "" {
		cfg.WeChat.AppID = appID
		if appID == "" {
			cfg.WeChat.AppID = "wxoperatorcommand"
		}
	}
	if cfg.WeChat.Secret == "" {
		cfg.WeChat.Secret = "unused-by-commands"
	}
	return cfg
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
		return nil // RunOperator says so
	}
	tw := tabwriter.NewWriter(cmd.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPID\tOPENID\tUNIONID\tNICKNAME\tPHONE\tUPDATED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(r.AppID), printable(r.OpenID), printable(r.UnionID),
			printable(r.NickName), printable(r.Phone), r.UpdatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// printable is stored text fit for an operator's terminal: control
// characters (C0, C1, DEL; an ESC sequence would rewrite the screen),
// format characters (bidi overrides, zero-width ones) and invalid UTF-8 are
// written as \uXXXX escapes, and a backslash as two, so that what is shown
// says exactly what is stored and the table's columns stay where they are.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02X", s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
