// Command wxsim is a simulated mini-program: it runs the real client flow
// against a backend and a WeChat sandbox, printing every request and answer
// (tokens shortened), and exits non-zero if a step fails. For a newcomer's
// first look, for debugging a deployment, and for scripts.
//
//	wxsim [-backend URL] [-sandbox URL] [-app appid] [-user alice] [-nick 'Alice 🐼'] [-legacy] [-classic] [-form]
//	      [-steps login,userinfo,avatar,nickname,phone,session,me,service,logout] [-service /app/orders]
//	wxsim -steps login,subscribe [-internal URL] [-messages-key-file bin/demo-messages.key] [-template id]
//
// Step phone-encrypted sends getPhoneNumber's older encrypted form. Step
// service calls a business route of the team's own service through the
// backend's built-in gateway and prints the identity headers it received
// (make run puts the demo's echo service at /app/). Step subscribe has the
// user allow a subscribe message, which a team's service then sends
// through the backend's internal listener (POST /v1/messages, with an API
// key of scope messages) and sees reconciled.
//
// By default it runs today's flow: wx.getUserInfo is anonymous, so the user
// fills in an avatar (chooseAvatar, uploaded with wx.uploadFile) and a
// nickname (<input type="nickname">). -legacy switches the sandbox user to
// WeChat's pre-2021 getUserInfo, which carried the real profile: the
// tutorial's flow.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // avatars are JPEG
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/domain"
	"wxbackend/internal/sim/echo"
	"wxbackend/internal/sim/miniprogram"
	"wxbackend/internal/sim/sandbox"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wxsim:", err)
		os.Exit(1)
	}
}

var allSteps = []string{"login", "userinfo", "avatar", "nickname", "phone", "session", "me", "service", "logout"}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("wxsim", flag.ContinueOnError)
	backend := fs.String("backend", env("WXSIM_BACKEND", "http://127.0.0.1:8080"), "the backend's base URL (env WXSIM_BACKEND)")
	sbURL := fs.String("sandbox", env("WXSIM_SANDBOX", "http://127.0.0.1:8090"), "the WeChat sandbox's base URL (env WXSIM_SANDBOX)")
	user := fs.String("user", "alice", "the sandbox user whose phone this is")
	appID := fs.String("app", env("WXSIM_APP", ""), "the mini-program's appid, when the backend and sandbox serve several (env WXSIM_APP)")
	nick := fs.String("nick", "", "the nickname the user types (emoji welcome); with -legacy, the profile getUserInfo carries")
	legacy := fs.Bool("legacy", false, "the user's WeChat answers getUserInfo with the real profile, as before 2021")
	classic := fs.Bool("classic", false, "use the tutorial's routes (/login/, /getinfo/, encrypedData, token in the body)")
	form := fs.Bool("form", false, "send form bodies instead of JSON")
	steps := fs.String("steps", strings.Join(allSteps, ","), "steps to run, in order: "+strings.Join(allSteps, ",")+" (and push: WeChat pushes an event, the backend delivers it to the sandbox's webhook; subscribe: the user allows a subscribe message, your service sends it)")
	quiet := fs.Bool("q", false, "print only failures and the saved profile")
	service := fs.String("service", env("WXSIM_SERVICE", "/app/orders"), "a business route of the service behind the backend's built-in gateway, for step service (env WXSIM_SERVICE)")
	timeout := fs.Duration("timeout", 30*time.Second, "limit for the whole run")
	// Step subscribe (subscribe.go): a team's service on the internal listener.
	internal := fs.String("internal", env("WXSIM_INTERNAL", "http://127.0.0.1:8081"), "the backend's internal listener, for step subscribe (env WXSIM_INTERNAL)")
	keyFile := fs.String("messages-key-file", env("WXSIM_MESSAGES_KEY_FILE", "bin/demo-messages.key"), "a file holding an API key of scope messages, for step subscribe (env WXSIM_MESSAGES_KEY_FILE; make run writes this one)")
	template := fs.String("template", "wxsimOrderShippedTemplate", "the subscribe message template of step subscribe")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	phone := sandbox.NewPhone(*sbURL, nil)
	phone.AppID = *appID
	u, err := phone.User(ctx, *user)
	if err != nil {
		return fmt.Errorf("the sandbox at %s: %w (is the backend running with the sandbox? make run)", *sbURL, err)
	}
	if *nick == "" { // accept what <input type="nickname"> offers
		if *nick, err = phone.NicknameInput(ctx, *user); err != nil {
			return err
		}
	}
	if *legacy {
		u.Profile.NickName = *nick
		if _, err := phone.SetProfile(ctx, *user, u.Profile); err != nil {
			return err
		}
	} else if _, err := phone.SetLegacy(ctx, *user, false); err != nil {
		return err
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
	mp := miniprogram.New(miniprogram.Options{Backend: *backend, WX: phone, User: *user, AppID: *appID, Classic: *classic, Form: *form, Trace: trace})

	for _, step := range strings.Split(*steps, ",") {
		var e miniprogram.Envelope
		var err error
		switch strings.TrimSpace(step) {
		case "login":
			fmt.Fprintf(out, "# wx.login as %q, then send the code\n", *user)
			e, err = mp.Login(ctx)
		case "userinfo", "getinfo":
			if *legacy {
				fmt.Fprintln(out, "# wx.getUserInfo (pre-2021 WeChat: the real profile), then send encryptedData and iv with the token")
			} else {
				fmt.Fprintln(out, "# wx.getUserInfo: today's WeChat answers an anonymous profile (微信用户, a grey avatar); the backend keeps what it has")
			}
			e, err = mp.UploadUserInfo(ctx)
		case "avatar":
			fmt.Fprintln(out, "# <button open-type=\"chooseAvatar\">, then wx.uploadFile the chosen photo")
			e, err = mp.ChooseAndUploadAvatar(ctx)
		case "phone":
			fmt.Fprintln(out, "# <button open-type=\"getPhoneNumber\">, then send its code (WeChat's number for it)")
			e, err = mp.SharePhone(ctx, false)
		case "phone-encrypted":
			fmt.Fprintln(out, "# <button open-type=\"getPhoneNumber\">, the older way: send encryptedData and iv")
			e, err = mp.SharePhone(ctx, true)
		case "session":
			fmt.Fprintln(out, "# does WeChat still hold this session's key? (wxa/checksession)")
			e, err = mp.Session(ctx)
		case "nickname":
			fmt.Fprintf(out, "# <input type=\"nickname\">: the user types “%s”\n", *nick)
			e, err = mp.SetNickName(ctx, *nick)
		case "me":
			fmt.Fprintln(out, "# read the saved profile back")
			e, err = mp.Me(ctx)
			if err == nil && e.Code == 0 {
				var p apiclient.Profile
				_ = json.Unmarshal(e.Data, &p)
				fmt.Fprintf(out, "saved profile of %v: nickName “%v”, phone %s\n", p.OpenID, p.NickName, domain.MaskPhone(p.PurePhoneNumber))
				err = checkAvatar(ctx, out, p.AvatarURL)
				fmt.Fprintln(out)
			}
		case "service":
			fmt.Fprintf(out, "# wx.request a business route of your own service, through the backend's gateway: %s\n", *service)
			e, err = callService(ctx, out, mp, *service)
		case "logout":
			fmt.Fprintln(out, "# log out: the token stops working")
			e, err = mp.Logout(ctx)
		case "subscribe": // the user allows a message, your service sends it (subscribe.go)
			e, err = subscribeStep(ctx, out, mp, subscribeOptions{sandbox: *sbURL, backend: *backend, internal: *internal,
				keyFile: *keyFile, appID: *appID, user: *user, template: *template})
		case "push": // not a step of the client: WeChat's push to the backend (push.go)
			err = pushStep(ctx, out, *sbURL, *backend, *appID, u.OpenID)
		default:
			return fmt.Errorf("unknown step %q (steps: %s)", step, strings.Join(allSteps, ","))
		}
		if err != nil {
			return err
		}
		if e.Code == 1 && *appID == "" && step == "login" { // the code is good: the app is what is missing
			return fmt.Errorf("%s: code 1: %s (a backend that serves several apps needs one named: -app or WXSIM_APP)", step, e.Msg)
		}
		if e.Code != 0 {
			return errors.New(step + ": code " + fmt.Sprint(e.Code) + ": " + e.Msg)
		}
	}
	return nil
}

// callService calls a route behind the gateway and prints the identity
// headers the service received (the demo's echo service answers them). A
// backend without a gateway at that path is no failure: the step is
// skipped with a note.
func callService(ctx context.Context, out io.Writer, mp *miniprogram.MiniProgram, path string) (miniprogram.Envelope, error) {
	status, body, err := mp.CallService(ctx, "GET", path)
	if err != nil {
		return miniprogram.Envelope{}, err
	}
	var e miniprogram.Envelope
	if status == http.StatusNotFound && json.Unmarshal(body, &e) == nil && e.Code == 1 {
		fmt.Fprintf(out, "no service behind the gateway at %s on this backend (make run configures /app/ → wxecho): step skipped\n\n", path)
		return miniprogram.Envelope{}, nil
	}
	if status != http.StatusOK {
		if json.Unmarshal(body, &e) == nil && e.Code != 0 {
			return e, nil
		}
		return e, fmt.Errorf("service %s: HTTP %d", path, status)
	}
	var a echo.Answer
	if json.Unmarshal(body, &a) != nil || a.Service != echo.Name {
		fmt.Fprintf(out, "the service at %s answered HTTP %d (not the demo's echo service)\n\n", path, status)
		return miniprogram.Envelope{}, nil
	}
	fmt.Fprintf(out, "the service got %s %s with these identity headers, set by the gateway from the session:\n", a.Method, a.Path)
	names := make([]string, 0, len(a.Identity))
	for n := range a.Identity {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "  %s: %s\n", n, a.Identity[n])
	}
	fmt.Fprintln(out)
	return miniprogram.Envelope{}, nil
}

// checkAvatar fetches an avatar the backend stores and checks it is an image.
func checkAvatar(ctx context.Context, out io.Writer, url string) error {
	if url == "" || strings.Contains(url, "qlogo.cn") {
		fmt.Fprintf(out, "avatar: %q (WeChat's, not fetched)\n", url)
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch the avatar: %w", err)
	}
	defer resp.Body.Close()
	cfg, format, err := image.DecodeConfig(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK || err != nil {
		return fmt.Errorf("the avatar at %s: HTTP %d, not an image (%v)", url, resp.StatusCode, err)
	}
	fmt.Fprintf(out, "avatar: %s is a %d×%d %s (%s)\n", url, cfg.Width, cfg.Height, format, resp.Header.Get("Content-Type"))
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
