package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// Tests of avatars checked by WeChat (mediacheck.go).

// checkedWorld is a world whose app has its avatars checked, with the push
// receiver on (the memory inbox) and no webhook.
func checkedWorld(t *testing.T, review string) *world {
	t.Helper()
	o := app.Options{MediaCheck: app.MediaCheckOptions{Review: review, OnTimeout: domain.AvatarDrop, Timeout: 30 * 60e9}}
	return newWorld(t, o, func(d *app.Deps) {
		d.Inbox = memory.NewInbox()
		d.PushApps = []app.PushApp{{AppID: appID, Token: "push-token"}}
		d.MediaCheckApps = []string{appID}
	})
}

// verdict hands the worker WeChat's push of trace's verdict, in version
// 2's shape (suggest) or version 1's (isrisky, when suggest is ""). Its
// FromUserName is WeChat's push service (平台推送服务UserName, as the
// documentation gives it), not the user: the check is found by trace_id.
func (w *world) verdict(t *testing.T, trace, suggest string, isRisky int) {
	t.Helper()
	fields := map[string]any{"ToUserName": "gh_1", "FromUserName": "oPushServiceNotTheUser000000", "CreateTime": json.Number("1700000000"),
		"MsgType": "event", "Event": "wxa_media_check", "appid": appID, "trace_id": trace}
	if suggest != "" {
		fields["version"] = json.Number("2")
		fields["result"] = map[string]any{"suggest": suggest, "label": json.Number("100")}
	} else {
		fields["isrisky"] = json.Number(string(rune('0' + isRisky)))
	}
	e, err := domain.ParsePush(appID, fields, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.a.DeliverPush.Handle(context.Background(), ports.Job[domain.PushEvent]{ID: 1, Item: e}); err != nil {
		t.Fatalf("the worker's handler: %v", err)
	}
}

func TestMediaCheck_PendingAvatarIsTheUsersOnlyUntilThePassVerdict(t *testing.T) {
	w := checkedWorld(t, domain.AvatarKeep)
	alice := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	first, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	checks := w.wechat.MediaChecks()
	if len(checks) != 1 || checks[0].OpenID != "o1" || !strings.HasPrefix(checks[0].URL, blobURL+"/") {
		t.Fatalf("submitted: %+v", checks)
	}
	stored, _ := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
	if stored.Avatar != "" || stored.Review.State != domain.AvatarPending || first.Profile.AvatarURL != checks[0].URL {
		t.Fatalf("the upload is not pending: stored %+v, shown %q", stored, first.Profile.AvatarURL)
	}
	me, err := w.svc.Me(ctx, "", alice)
	if err != nil || me.Profile.AvatarURL != checks[0].URL || me.Review.State != domain.AvatarPending {
		t.Fatalf("the user does not see their pending avatar: %+v, %v", me, err)
	}
	w.verdict(t, checks[0].TraceID, "pass", 0)
	stored, _ = w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
	if stored.Avatar == "" || blobURL+"/"+stored.Avatar != checks[0].URL || stored.Review != (domain.AvatarReview{}) {
		t.Fatalf("passed but not published: %+v", stored)
	}
}

func TestMediaCheck_RiskyRestoresThePreviousAvatarAndDeletesTheUpload(t *testing.T) {
	w := checkedWorld(t, domain.AvatarKeep)
	alice := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	if _, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 1)); err != nil {
		t.Fatal(err)
	}
	w.verdict(t, w.wechat.MediaChecks()[0].TraceID, "", 0) // version 1: isrisky 0, a pass
	published, _ := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
	if _, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 2)); err != nil {
		t.Fatal(err)
	}
	w.verdict(t, w.wechat.MediaChecks()[1].TraceID, "risky", 0)
	me, err := w.svc.Me(ctx, "", alice)
	if err != nil || me.Avatar != published.Avatar || me.Profile.AvatarURL != blobURL+"/"+published.Avatar || me.Review.State != domain.AvatarRejected {
		t.Fatalf("after risky: %+v, %v; want %s back, rejected", me, err, published.Avatar)
	}
	if names := w.blobNames(t); len(names) != 1 || names[0] != published.Avatar {
		t.Errorf("stored after risky: %v, want only the published one", names)
	}
	// A verdict again (WeChat's retry), or for a trace_id nobody has: no error, no change.
	w.verdict(t, w.wechat.MediaChecks()[1].TraceID, "pass", 0)
	w.verdict(t, "no-such-trace", "pass", 0)
	if again, _ := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"}); again.Avatar != published.Avatar {
		t.Errorf("a stale verdict changed the user: %+v", again)
	}
}

func TestMediaCheck_ReviewFollowsThePolicy(t *testing.T) {
	for _, c := range []struct {
		policy    string
		state     domain.AvatarState
		published bool
	}{
		{domain.AvatarPublish, "", true},
		{domain.AvatarDrop, domain.AvatarRejected, false},
		{domain.AvatarKeep, domain.AvatarPending, false},
	} {
		w := checkedWorld(t, c.policy)
		alice := w.login(t, "c1", "o1", key1)
		ctx := context.Background()
		if _, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 1)); err != nil {
			t.Fatal(err)
		}
		w.verdict(t, w.wechat.MediaChecks()[0].TraceID, "review", 0)
		u, _ := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
		if u.Review.State != c.state || (u.Avatar != "") != c.published {
			t.Errorf("review with policy %s: %+v", c.policy, u)
		}
	}
}

func TestMediaCheck_NeedsThePushReceiverAServedAppAndAPolicy(t *testing.T) {
	good := app.MediaCheckOptions{Review: "keep", OnTimeout: "drop", Timeout: 1e9}
	for name, c := range map[string]struct {
		o app.MediaCheckOptions
		d func(*app.Deps)
	}{
		"no push receiver":  {good, func(d *app.Deps) { d.Inbox, d.PushApps = nil, nil }},
		"an app not served": {good, func(d *app.Deps) { d.MediaCheckApps = []string{"wxother"} }},
		"review unknown":    {app.MediaCheckOptions{Review: "maybe", OnTimeout: "drop", Timeout: 1e9}, func(*app.Deps) {}},
		"keep on timeout":   {app.MediaCheckOptions{Review: "keep", OnTimeout: "keep", Timeout: 1e9}, func(*app.Deps) {}},
		"no timeout":        {app.MediaCheckOptions{Review: "keep", OnTimeout: "drop"}, func(*app.Deps) {}},
	} {
		w := checkedWorld(t, domain.AvatarKeep)
		deps := app.Deps{Sessions: w.sessions, Users: w.users, Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{w.wechat},
			Clock: w.clock, Tokens: &portfake.Tokens{}, Inbox: memory.NewInbox(), PushApps: []app.PushApp{{AppID: appID, Token: "t"}},
			MediaCheckApps: []string{appID}}
		c.d(&deps)
		if _, err := app.New(deps, app.Options{SessionTTL: 3600e9, MediaCheck: c.o}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMediaCheck_NoVerdictInTimeIsDecidedByTheSweeper(t *testing.T) {
	for _, onTimeout := range []string{domain.AvatarDrop, domain.AvatarPublish} {
		o := app.Options{MediaCheck: app.MediaCheckOptions{Review: domain.AvatarKeep, OnTimeout: onTimeout, Timeout: 30 * time.Minute}}
		w := newWorld(t, o, func(d *app.Deps) {
			d.Inbox = memory.NewInbox()
			d.PushApps = []app.PushApp{{AppID: appID, Token: "push-token"}}
			d.MediaCheckApps = []string{appID}
		})
		alice := w.login(t, "c1", "o1", key1)
		ctx := context.Background()
		if _, err := w.svc.SetAvatar(ctx, "", alice, picture(t, 1)); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(29 * time.Minute)
		if n, err := w.svc.a.SweepAvatarChecks.Handle(ctx); err != nil || n != 0 {
			t.Fatalf("swept before the timeout: %d, %v", n, err)
		}
		w.clock.Advance(time.Minute)
		if n, err := w.svc.a.SweepAvatarChecks.Handle(ctx); err != nil || n != 1 {
			t.Fatalf("%s: swept %d, %v; want 1", onTimeout, n, err)
		}
		u, _ := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
		if published := u.Avatar != ""; published != (onTimeout == domain.AvatarPublish) || u.Review.State == domain.AvatarPending {
			t.Errorf("%s: after the sweep %+v", onTimeout, u)
		}
		// The verdict arriving late changes nothing.
		w.verdict(t, w.wechat.MediaChecks()[0].TraceID, "risky", 0)
		if late, _ := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"}); late.Avatar != u.Avatar {
			t.Errorf("%s: a late verdict applied: %+v", onTimeout, late)
		}
	}
}
