package app_test

import (
	"context"
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

// twoApps is a service for a shop and a staff app sharing one user base.
func twoApps(t *testing.T) (edge, *portfake.WeChat, *portfake.WeChat, *portfake.Users) {
	t.Helper()
	clock := portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	shop, staff := portfake.NewWeChat("wxshop"), portfake.NewWeChat("wxstaff")
	users := portfake.NewUsers()
	a, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, clock),
		Users: users, Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{shop, staff}, Clock: clock, Tokens: &portfake.Tokens{},
		AccessTokens: memory.NewTokenCache(clock)},
		app.Options{SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return edge{a}, shop, staff, users
}

func TestApps_ATokenBelongsToItsApp(t *testing.T) {
	svc, shop, staff, _ := twoApps(t)
	ctx := context.Background()
	shop.AddCode("c1", "oShopAda", "uAda", key1)
	staff.AddCode("c2", "oStaffAda", "uAda", key2)
	shopLogin, err := svc.Login(ctx, "wxshop", "c1", phone)
	if err != nil || shopLogin.User.AppID != "wxshop" {
		t.Fatalf("shop login: %+v, %v", shopLogin.User, err)
	}
	_, err = svc.Login(ctx, "wxshop", "c2", phone) // the staff app's code, sent to the shop
	wantKind(t, err, domain.KindBadCode)
	staffLogin, err := svc.Login(ctx, "wxstaff", "c2", phone)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Me(ctx, "wxstaff", shopLogin.Token.Reveal())
	wantKind(t, err, domain.KindUnauthenticated)
	_, err = svc.Me(ctx, "", shopLogin.Token.Reveal()) // several apps: which?
	wantKind(t, err, domain.KindInvalidInput)
	wantAppDetail(t, err, "this server serves several apps")
	if msg := domain.ClientMessageOf(err); msg != domain.MsgMissing {
		t.Errorf("no app named: msg %q, want the contract's %q", msg, domain.MsgMissing)
	}
	_, err = svc.Login(ctx, "wxnope", "c3", phone)
	wantKind(t, err, domain.KindInvalidInput)
	wantAppDetail(t, err, "name an app this server serves")

	// The same person (one unionid) in both apps: each sees the other's
	// account, appid and openid only.
	me, err := svc.Me(ctx, "wxshop", shopLogin.Token.Reveal())
	if err != nil || len(me.Linked) != 1 || me.Linked[0] != (domain.Identity{AppID: "wxstaff", OpenID: "oStaffAda"}) {
		t.Fatalf("shop's links: %+v, %v", me.Linked, err)
	}
	me, err = svc.Me(ctx, "wxstaff", staffLogin.Token.Reveal())
	if err != nil || len(me.Linked) != 1 || me.Linked[0].AppID != "wxshop" {
		t.Fatalf("staff's links: %+v, %v", me.Linked, err)
	}
}

// A user with no unionid, or another's, is linked to nobody.
func TestApps_LinksOnlyWithinOneUnionID(t *testing.T) {
	svc, shop, staff, _ := twoApps(t)
	ctx := context.Background()
	shop.AddCode("c1", "oShopBob", "", key1)
	staff.AddCode("c2", "oStaffBob", "uBob", key2)
	staff.AddCode("c3", "oStaffEve", "uEve", key2)
	res, err := svc.Login(ctx, "wxshop", "c1", phone)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"c2", "c3"} {
		if _, err := svc.Login(ctx, "wxstaff", code, phone); err != nil {
			t.Fatal(err)
		}
	}
	if me, err := svc.Me(ctx, "wxshop", res.Token.Reveal()); err != nil || len(me.Linked) != 0 {
		t.Fatalf("links without a unionid: %+v, %v", me.Linked, err)
	}
}

func TestApps_AccessTokensArePerApp(t *testing.T) {
	svc, shop, staff, _ := twoApps(t)
	ctx := context.Background()
	shop.AddCode("c1", "o1", "", key1)
	staff.AddCode("c2", "o2", "", key2)
	shop.KeyValid, staff.KeyValid = true, true
	for app, code := range map[string]string{"wxshop": "c1", "wxstaff": "c2"} {
		res, err := svc.Login(ctx, app, code, phone)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SessionStatus(ctx, app, res.Token.Reveal()); err != nil {
			t.Fatalf("%s: %v", app, err)
		}
	}
	if shop.TokenCalls() != 1 || staff.TokenCalls() != 1 {
		t.Fatalf("token fetches: shop %d, staff %d, want one each", shop.TokenCalls(), staff.TokenCalls())
	}
}

// wantAppDetail checks that err tells the developer how to name the app
// (Referer or X-WX-AppID) and which apps are served.
func wantAppDetail(t *testing.T, err error, starts string) {
	t.Helper()
	d := domain.DetailOf(err)
	for _, want := range []string{starts, "https://servicewechat.com/<appid>/<version>/page-frame.html", "X-WX-AppID", "served: wxshop, wxstaff"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
}
