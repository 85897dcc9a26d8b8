package apiclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

// The client against a whole server and its WeChat sandbox: every typed call, and
// the shapes of failure.
func TestClient_EveryRouteOfTheFlow(t *testing.T) {
	base, sb := wiringtest.StartSandboxed(t, nil)
	ctx := context.Background()
	api := apiclient.New(base, nil)
	info := func(user string) apiclient.UserInfo {
		t.Helper()
		u, err := sb.Sandbox.GetUserInfo(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return apiclient.UserInfo{EncryptedData: u.EncryptedData, IV: u.IV, RawData: u.RawData, Signature: u.Signature}
	}

	// Pre-2021 WeChat for ada and bob: getUserInfo carries their profiles.
	for _, u := range []string{"ada", "bob"} {
		if err := sb.Sandbox.SetProfile(ctx, u, sandbox.Profile{NickName: u + " 🐼", City: "广州"}); err != nil {
			t.Fatal(err)
		}
	}
	code, _ := sb.Sandbox.Login(ctx, "ada")
	login, resp, err := api.Login(ctx, code)
	if err != nil || login.Token == "" || login.User == nil || login.User.OpenID == "" || resp.HTTPStatus != 200 {
		t.Fatalf("login: %+v %+v %v", login, resp, err)
	}
	p, _, err := api.SaveUserInfo(ctx, login.Token, info("ada"))
	if err != nil || p.OpenID != login.User.OpenID || p.NickName == "" {
		t.Fatalf("userinfo: %+v %v", p, err)
	}
	p, _, err = api.EditProfile(ctx, login.Token, apiclient.Field{Name: "nickName", Value: "Ada L."}, apiclient.Field{Name: "gender", Value: "2"})
	if err != nil || p.NickName != "Ada L." || p.Gender != 2 || p.City != "广州" {
		t.Fatalf("edit profile: %+v %v", p, err)
	}
	p, _, err = api.UploadAvatar(ctx, login.Token, "me.jpg", sandbox.ChosenAvatar("ada"))
	if err != nil || !strings.Contains(p.AvatarURL, "/media/avatars/") {
		t.Fatalf("upload avatar: %+v %v", p, err)
	}
	me, _, err := api.Me(ctx, login.Token)
	if err != nil || me.NickName != "Ada L." || me.AvatarURL != p.AvatarURL {
		t.Fatalf("me: %+v %v", me, err)
	}
	if _, err := api.Logout(ctx, login.Token); err != nil {
		t.Fatal(err)
	}
	_, resp, err = api.Me(ctx, login.Token)
	var apiErr *apiclient.Error
	if !errors.As(err, &apiErr) || apiErr.Code != 2 || apiErr.HTTPStatus != 401 || resp.Envelope.Status != 2 {
		t.Fatalf("me after logout: %v, %+v", err, resp)
	}

	code, _ = sb.Sandbox.Login(ctx, "bob")
	classic, _, err := api.ClassicLogin(ctx, code)
	if err != nil || classic.Token == "" || classic.User != nil || classic.ExpiresIn <= 0 {
		t.Fatalf("classic login: %+v %v", classic, err)
	}
	cp, _, err := api.ClassicGetInfo(ctx, classic.Token, info("bob"))
	if err != nil || cp.Name == "" {
		t.Fatalf("classic getinfo: %+v %v", cp, err)
	}
}

func TestClient_NotAnEnvelopeIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer srv.Close()
	resp, err := apiclient.New(srv.URL, nil).Do(context.Background(), apiclient.Request{Path: "/login/"})
	if err == nil || resp.HTTPStatus != http.StatusBadGateway {
		t.Fatalf("%+v, %v", resp, err)
	}
}
