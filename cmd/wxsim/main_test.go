package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

// backend starts wxbackend with a WeChat sandbox, as make run does, on SQLite.
func backend(t *testing.T) (base, sandboxURL string) {
	base, sb := wiringtest.StartSandboxed(t, nil)
	return base, sb.URL
}

var (
	fullToken = regexp.MustCompile(`[A-Za-z0-9_-]{43,}`)
	hexOnly   = regexp.MustCompile(`^[0-9a-f]+$`)
)

func TestRun_WholeFlowPrintsEveryStepWithoutTheToken(t *testing.T) {
	base, sb := backend(t)
	for _, mode := range [][]string{nil, {"-classic"}, {"-form"}, {"-classic", "-form"}} {
		var out bytes.Buffer
		args := append([]string{"-backend", base, "-sandbox", sb, "-user", "sim", "-nick", "Sim 🤖 模拟"}, mode...)
		if err := run(args, &out); err != nil {
			t.Fatalf("%v: %v\n%s", mode, err, &out)
		}
		got := out.String()
		for _, want := range []string{"POST " + base, "/logout", "Authorization: Bearer ", `nickName “Sim 🤖 模拟”`, `"code":0`} {
			if !strings.Contains(got, want) {
				t.Errorf("%v: output lacks %q:\n%s", mode, want, got)
			}
		}
		for _, tok := range fullToken.FindAllString(got, -1) {
			if !hexOnly.MatchString(tok) { // an avatar's content hash is no token
				t.Errorf("%v: a whole token is printed: %s", mode, tok)
			}
		}
		for _, want := range []string{"微信用户", "/api/v1/me/avatar", "avatar: http://", "256×256 jpeg"} {
			if !strings.Contains(got, want) {
				t.Errorf("%v: output lacks %q", mode, want)
			}
		}
	}
}

// A step of a logged-in user, run alone, logs in first and says so.
func TestRun_AStepThatNeedsATokenLogsInFirst(t *testing.T) {
	base, sb := backend(t)
	var out bytes.Buffer
	if err := run([]string{"-backend", base, "-sandbox", sb, "-user", "alone", "-steps", "me"}, &out); err != nil {
		t.Fatalf("me without a login step: %v\n%s", err, &out)
	}
	got := out.String()
	for _, want := range []string{"step me needs a logged-in user, and this run has no token yet: logging in first", "/api/v1/login", "saved profile of o"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// A failed step names its code and what it means in English beside the
// contract's msg, and the server's detail.
func TestRun_FailsOnAFailedStep(t *testing.T) {
	base, sb := backend(t)
	var out bytes.Buffer
	err := run([]string{"-backend", base, "-sandbox", sb, "-app", "wxnotours", "-steps", "login"}, &out)
	if err == nil {
		t.Fatal("a login to an app not served passed")
	}
	for _, want := range []string{"login: code 1 invalid_input: invalid parameter appid: not an app this server serves (a parameter is missing",
		"X-WX-AppID", "served: " + sandbox.DefaultAppID} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if err := run([]string{"-backend", base, "-sandbox", sb, "-steps", "dance"}, &out); err == nil {
		t.Fatal("an unknown step passed")
	}
}

// The tutorial's flow on pre-2021 WeChat: getUserInfo carries the real
// profile, and the backend saves it.
func TestRun_LegacyGetUserInfoSavesTheRealProfile(t *testing.T) {
	base, sb := backend(t)
	var out bytes.Buffer
	args := []string{"-backend", base, "-sandbox", sb, "-user", "old", "-nick", "Old 👴", "-legacy", "-classic", "-steps", "login,userinfo,me"}
	if err := run(args, &out); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	if !strings.Contains(out.String(), `nickName “Old 👴”`) || strings.Contains(out.String(), "微信用户") {
		t.Fatalf("output:\n%s", &out)
	}
}

// With an apps file of two apps (make run with WXB_APPS_FILE), -app names
// the mini-program, as its Referer does; without it the run stops at the
// login, saying how to name one.
func TestRun_TwoAppsNeedAnAppNamed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "apps.toml")
	apps := "[[app]]\nappid = \"wx5h0p000000000001\"\nsecret = \"shop-secret\"\n\n[[app]]\nappid = \"wx57aff00000000002\"\nsecret = \"staff-secret\"\n"
	if err := os.WriteFile(file, []byte(apps), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := config.Load([]string{"--apps-file", file}, func(string) (string, bool) { return "", false }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	base, sb := wiringtest.StartSandboxed(t, func(c *config.Config) { c.Apps = loaded.Apps })
	for _, app := range []string{"wx5h0p000000000001", "wx57aff00000000002"} {
		var out bytes.Buffer
		if err := run([]string{"-backend", base, "-sandbox", sb.URL, "-app", app, "-user", "two", "-nick", "Two of " + app, "-q"}, &out); err != nil {
			t.Fatalf("-app %s: %v\n%s", app, err, &out)
		}
		if !strings.Contains(out.String(), "nickName “Two of "+app+"”") {
			t.Errorf("-app %s: %s", app, &out)
		}
	}
	err = run([]string{"-backend", base, "-sandbox", sb.URL, "-user", "two", "-q"}, io.Discard)
	for _, want := range []string{"code 1 invalid_input: 缺少参数!", "X-WX-AppID", "served: wx57aff00000000002, wx5h0p000000000001", "WXSIM_APP", "make demo APP="} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no app named: error lacks %q: %v", want, err)
		}
	}
}

// TestRun_PushStepIsReceivedAndDelivered: -steps push has the sandbox push
// an event as WeChat does, and waits for the backend to deliver it to the
// sandbox's webhook, as make demo does.
func TestRun_PushStepIsReceivedAndDelivered(t *testing.T) {
	base, sb := wiringtest.StartSandboxed(t, func(c *config.Config) {
		c.Push.Token, c.Push.EncodingAESKey = "sim-push-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
		c.Push.WebhookSecret = "sim-webhook-secret"
		c.App.Push.PollInterval = 20 * time.Millisecond
	})
	var out bytes.Buffer
	if err := run([]string{"-backend", base, "-sandbox", sb.URL, "-user", "sim", "-steps", "push"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	for _, want := range []string{`HTTP 200 "success"`, "delivered: event 1, wxa_media_check"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
}
