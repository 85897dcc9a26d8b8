package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/internal/sim/sandbox"
)

// GET /api/v1/me tells the user where their avatar stands in WeChat's
// check, over HTTP: pending (showing them the new one) until the verdict
// is pushed; a pass publishes it (no review left); a risky one drops it,
// says rejected, and shows the previous avatar again. The sandbox's
// pushes name WeChat's push service, not the user (as WeChat documents
// it): the server finds the check by its trace_id.
func TestE2E_AvatarReviewInMe(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: appSecret, Now: clock,
		Push: sandbox.PushApp{Token: pushToken, EncodingAESKey: pushKey}})
	wx := httptest.NewServer(sb.Handler())
	t.Cleanup(wx.Close)
	h := newHook(t)
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret, cfg.WeChat.BaseURL = appID, appSecret, wx.URL
	cfg.DB = sqliteDB(t)
	withPush(&cfg, h)
	cfg.MediaCheck.Enabled = true
	s := launch(t, cfg)
	s.sb = sb

	ctx := context.Background()
	api := apiclient.New(s.base, nil)
	code, _ := sb.Login(ctx, "alice")
	login, _, err := api.Login(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	me := func() apiclient.Profile {
		t.Helper()
		p, _, err := api.Me(ctx, login.Token)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// pushDue moves the sandbox's clock past the checks' delay and has it
	// push the results due to the server.
	pushDue := func() {
		t.Helper()
		mu.Lock()
		now = now.Add(sandbox.MediaCheckDelay + time.Second)
		mu.Unlock()
		b, _ := json.Marshal(sandbox.MediaCheckPushRequest{URL: s.base + "/wechat/push/" + appID})
		resp, err := http.Post(wx.URL+"/sandbox/media_check/push", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Pushed []sandbox.MediaCheckPushed }
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if len(got.Pushed) != 1 || got.Pushed[0].Answer != "success" {
			t.Fatalf("pushed %+v", got)
		}
	}

	first, _, err := api.UploadAvatar(ctx, login.Token, "a.jpg", sandbox.ChosenAvatar("alice"))
	if err != nil || first.AvatarReview != "pending" {
		t.Fatalf("upload: %+v %v", first, err)
	}
	if p := me(); p.AvatarReview != "pending" || p.AvatarURL != first.AvatarURL {
		t.Fatalf("before the verdict: %+v", p)
	}
	pushDue()
	eventually(t, "the pass applied", func() bool { return me().AvatarReview == "" })
	if p := me(); p.AvatarURL != first.AvatarURL {
		t.Fatalf("after the pass: %+v", p)
	}

	sb.NextMediaCheck(sandbox.MediaRisky)
	second, _, err := api.UploadAvatar(ctx, login.Token, "b.jpg", sandbox.ChosenAvatar("alice-2"))
	if err != nil || second.AvatarURL == first.AvatarURL {
		t.Fatalf("second upload: %+v %v", second, err)
	}
	if p := me(); p.AvatarReview != "pending" || p.AvatarURL != second.AvatarURL {
		t.Fatalf("the second before its verdict: %+v", p)
	}
	pushDue()
	eventually(t, "the risky verdict applied", func() bool { return me().AvatarReview == "rejected" })
	if p := me(); p.AvatarURL != first.AvatarURL {
		t.Fatalf("after the risky verdict: %+v, want the first avatar %s back", p, first.AvatarURL)
	}
}
