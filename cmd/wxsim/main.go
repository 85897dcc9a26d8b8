// Command wxsim is a simulated mini-program: it runs the real client flow
// against a backend and a WeChat sandbox, printing every request and answer
// (tokens shortened), and exits non-zero if a step fails. For a newcomer's
// first look, for debugging a deployment, and for scripts.
//
//	wxsim [-backend URL] [-sandbox URL] [-user alice] [-nick 'Alice 🐼'] [-classic] [-form] [-steps login,userinfo,me,logout]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"wxbackend/adapters/wechat/sandbox"
	"wxbackend/adapters/wechat/sandbox/miniprogram"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wxsim:", err)
		os.Exit(1)
	}
}

var allSteps = []string{"login", "userinfo", "me", "logout"}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("wxsim", flag.ContinueOnError)
	backend := fs.String("backend", env("WXSIM_BACKEND", "http://127.0.0.1:8080"), "the backend's base URL (env WXSIM_BACKEND)")
	sbURL := fs.String("sandbox", env("WXSIM_SANDBOX", "http://127.0.0.1:8090"), "the WeChat sandbox's base URL (env WXSIM_SANDBOX)")
	user := fs.String("user", "alice", "the sandbox user whose phone this is")
	nick := fs.String("nick", "", "set the user's nickName in the sandbox first (emoji welcome)")
	classic := fs.Bool("classic", false, "use the tutorial's routes (/login/, /getinfo/, encrypedData, token in the body)")
	form := fs.Bool("form", false, "send form bodies instead of JSON")
	steps := fs.String("steps", strings.Join(allSteps, ","), "steps to run, in order: "+strings.Join(allSteps, ","))
	quiet := fs.Bool("q", false, "print only failures and the saved profile")
	timeout := fs.Duration("timeout", 30*time.Second, "limit for the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	phone := sandbox.NewPhone(*sbURL, nil)
	if *nick != "" {
		u, err := phone.User(ctx, *user)
		if err != nil {
			return fmt.Errorf("the sandbox at %s: %w (is the backend running with the sandbox? make run)", *sbURL, err)
		}
		u.Profile.NickName = *nick
		if _, err := phone.SetProfile(ctx, *user, u.Profile); err != nil {
			return err
		}
	}
	trace := func(s miniprogram.Step) {
		if *quiet && s.Envelope.Code == 0 {
			return
		}
		fmt.Fprintf(out, "→ %s %s\n", s.Method, s.URL)
		if s.Header != "" {
			fmt.Fprintf(out, "  %s\n", s.Header)
		}
		if s.Body != "" {
			fmt.Fprintf(out, "  %s\n", cut(s.Body))
		}
		fmt.Fprintf(out, "← HTTP %d in %v\n  %s\n\n", s.HTTPStatus, s.Took.Round(time.Microsecond), strings.TrimSpace(cut(s.Answer)))
	}
	mp := miniprogram.New(miniprogram.Options{Backend: *backend, WX: phone, User: *user, Classic: *classic, Form: *form, Trace: trace})

	for _, step := range strings.Split(*steps, ",") {
		var e miniprogram.Envelope
		var err error
		switch strings.TrimSpace(step) {
		case "login":
			fmt.Fprintf(out, "# wx.login as %q, then send the code\n", *user)
			e, err = mp.Login(ctx)
		case "userinfo", "getinfo":
			fmt.Fprintln(out, "# wx.getUserInfo, then send encryptedData and iv with the token")
			e, err = mp.UploadUserInfo(ctx)
		case "me":
			fmt.Fprintln(out, "# read the saved profile back")
			e, err = mp.Me(ctx)
			if err == nil && e.Code == 0 {
				var p map[string]any
				_ = json.Unmarshal(e.Data, &p)
				fmt.Fprintf(out, "saved profile of %v: nickName “%v”\n\n", p["openId"], p["nickName"])
			}
		case "logout":
			fmt.Fprintln(out, "# log out: the token stops working")
			e, err = mp.Logout(ctx)
		default:
			return fmt.Errorf("unknown step %q (steps: %s)", step, strings.Join(allSteps, ","))
		}
		if err != nil {
			return err
		}
		if e.Code != 0 {
			return errors.New(step + ": code " + fmt.Sprint(e.Code) + ": " + e.Msg)
		}
	}
	return nil
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

var longValue = regexp.MustCompile(`[A-Za-z0-9+/=%_-]{64,}`)

// cut shortens long base64 runs (encryptedData) so a step fits a screen.
func cut(s string) string {
	return longValue.ReplaceAllStringFunc(s, func(v string) string {
		return fmt.Sprintf("%s…(%d chars)", v[:24], len(v))
	})
}
