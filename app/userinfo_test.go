package app_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of saving the profile WeChat sends (userinfo.go).

func TestSaveUserInfo_SavesTheProfile(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	u, err := w.svc.SaveUserInfo(context.Background(), "", tok, w.payload(t, key1, "o1", "Band 🎸"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile.NickName != "Band 🎸" || u.Profile.City != "广州" || u.Profile.Gender != 1 || u.UnionID != "" {
		t.Fatalf("saved %+v", u)
	}
	me, err := w.svc.Me(context.Background(), "", tok)
	if err != nil || me.Profile != u.Profile {
		t.Fatalf("me: %+v, %v", me, err)
	}
}

// The payload is user-controlled (AES-CBC has no integrity): its unionId must
// never replace the one WeChat gave server to server, nor fill in a missing one.
func TestSaveUserInfo_PayloadUnionIDIsIgnored(t *testing.T) {
	var logs bytes.Buffer
	w := newWorld(t, app.Options{}, withLog(&logs))
	for _, c := range []struct{ code, openID, wechatUnion string }{
		{"c1", "o1", "uFromWeChat"}, // a forged unionId over WeChat's
		{"c2", "o2", ""},            // a forged unionId where WeChat gave none
	} {
		w.wechat.AddCode(c.code, c.openID, c.wechatUnion, key1)
		res, err := w.svc.Login(context.Background(), "", c.code, phone)
		if err != nil {
			t.Fatal(err)
		}
		tok := res.Token.Reveal()
		in := w.payloadWithUnion(t, key1, c.openID, "Mallory", "oVictimUnionID")
		u, err := w.svc.SaveUserInfo(context.Background(), "", tok, in)
		if err != nil {
			t.Fatal(err)
		}
		if u.UnionID != c.wechatUnion || u.Profile.NickName != "Mallory" {
			t.Fatalf("answered unionid %q, want WeChat's %q", u.UnionID, c.wechatUnion)
		}
		stored, err := w.svc.Me(context.Background(), "", tok)
		if err != nil || stored.UnionID != c.wechatUnion {
			t.Fatalf("stored unionid %q (%v), want WeChat's %q", stored.UnionID, err, c.wechatUnion)
		}
	}
	if n := strings.Count(logs.String(), "payload unionId ignored"); n != 2 {
		t.Fatalf("%d warnings, want 2:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "oVictimUnionID") {
		t.Fatal("the forged unionId reached the log")
	}
}

func TestSaveUserInfo_MatchingPayloadUnionIDIsNoWarning(t *testing.T) {
	var logs bytes.Buffer
	w := newWorld(t, app.Options{}, withLog(&logs))
	w.wechat.AddCode("c1", "o1", "uSame", key1)
	res, err := w.svc.Login(context.Background(), "", "c1", phone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SaveUserInfo(context.Background(), "", res.Token.Reveal(), w.payloadWithUnion(t, key1, "o1", "n", "uSame")); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("logged %s", logs.String())
	}
}

func TestSaveUserInfo_AfterReloginOnlyTheNewestKeyDecrypts(t *testing.T) {
	w := newWorld(t, app.Options{})
	old := w.login(t, "c1", "o1", key1)
	fresh := w.login(t, "c2", "o1", key2) // WeChat rotated the key
	before := w.users.WriteCount()
	_, err := w.svc.SaveUserInfo(context.Background(), "", old, w.payload(t, key1, "o1", "stale"))
	wantKind(t, err, domain.KindUndecryptable)
	if w.users.WriteCount() != before {
		t.Fatal("the rejected payload wrote")
	}
	for i, tok := range []string{old, fresh} {
		u, err := w.svc.SaveUserInfo(context.Background(), "", tok, w.payload(t, key2, "o1", fmt.Sprintf("new %d", i)))
		if err != nil || u.Profile.NickName != fmt.Sprintf("new %d", i) {
			t.Fatalf("a live token with the newest key: %+v, %v", u.Profile, err)
		}
	}
}

func TestSaveUserInfo_RejectsAndWritesNothing(t *testing.T) {
	w := newWorld(t, app.Options{WatermarkMaxAge: time.Hour})
	tok := w.login(t, "c1", "o1", key1)
	sealK1 := func(plain string) app.EncryptedUserInfo {
		return app.EncryptedUserInfo{EncryptedData: seal(t, key1, plain), IV: iv}
	}
	now := w.clock.Now().Unix()
	good := w.payload(t, key1, "o1", "Band")
	badSig := good
	badSig.RawData, badSig.Signature = `{"nickName":"Band"}`, "0000000000000000000000000000000000000000"
	cases := []struct {
		name  string
		token string
		in    app.EncryptedUserInfo
		kind  domain.Kind
	}{
		{"no encryptedData", tok, app.EncryptedUserInfo{IV: iv}, domain.KindInvalidInput},
		{"no iv", tok, app.EncryptedUserInfo{EncryptedData: "x"}, domain.KindInvalidInput},
		{"no token", "", good, domain.KindUnauthenticated},
		{"unknown token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", good, domain.KindUnauthenticated},
		{"bad iv", tok, app.EncryptedUserInfo{EncryptedData: good.EncryptedData, IV: "x"}, domain.KindInvalidInput},
		{"wrong key", tok, w.payload(t, key2, "o1", "x"), domain.KindUndecryptable},
		{"not JSON", tok, sealK1("not json"), domain.KindUndecryptable},
		{"no watermark", tok, sealK1(`{"nickName":"x"}`), domain.KindWatermark},
		{"another app", tok, sealK1(fmt.Sprintf(`{"watermark":{"appid":"wxOther","timestamp":%d}}`, now)), domain.KindWatermark},
		{"too old", tok, sealK1(fmt.Sprintf(`{"watermark":{"appid":%q,"timestamp":%d}}`, appID, now-7200)), domain.KindWatermark},
		{"another user", tok, w.payload(t, key1, "o2", "x"), domain.KindWatermark},
		{"bad signature", tok, badSig, domain.KindSignature},
	}
	before := w.users.WriteCount()
	for _, c := range cases {
		_, err := w.svc.SaveUserInfo(context.Background(), "", c.token, c.in)
		if domain.KindOf(err) != c.kind || err == nil {
			t.Errorf("%s: %v, want kind %v", c.name, err, c.kind)
		}
	}
	if w.users.WriteCount() != before {
		t.Fatal("a rejected request wrote")
	}
}

func TestSaveUserInfo_ChecksAMatchingSignature(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	in := w.payload(t, key1, "o1", "Band")
	in.RawData = `{"nickName":"Band","gender":1,"city":"广州"}`
	sum := sha1.Sum([]byte(in.RawData + key1))
	in.Signature = hex.EncodeToString(sum[:])
	if _, err := w.svc.SaveUserInfo(context.Background(), "", tok, in); err != nil {
		t.Fatal(err)
	}
}

// Today's WeChat answers an anonymous profile: it must not erase what the
// user filled in, nor what an earlier real payload saved.
func TestSaveUserInfo_AnonymousPayloadErasesNothing(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	real := w.sealed(t, key1, "o1", `"nickName":"Old Real","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/real/132","gender":2,"city":"广州","language":"zh_CN"`)
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, real); err != nil {
		t.Fatal(err)
	}
	nick := "Ada 🐼"
	if _, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: &nick}); err != nil {
		t.Fatal(err)
	}
	before := w.users.WriteCount()
	anon := w.sealed(t, key1, "o1", `"nickName":"微信用户","avatarUrl":"`+greyAvatar+`","gender":0,"city":"","province":"","country":"","language":""`)
	u, err := w.svc.SaveUserInfo(ctx, "", tok, anon)
	if err != nil {
		t.Fatal(err)
	}
	p := u.Profile
	if p.NickName != nick || p.AvatarURL != "https://thirdwx.qlogo.cn/mmopen/vi_32/real/132" || p.Gender != 2 || p.City != "广州" || p.Language != "zh_CN" {
		t.Fatalf("after an anonymous payload: %+v", p)
	}
	if w.users.WriteCount() != before {
		t.Fatal("an anonymous payload wrote")
	}
	// A real payload still updates what the user did not fill in, never what they did.
	again := w.sealed(t, key1, "o1", `"nickName":"WeChat Name","city":"深圳"`)
	if u, err = w.svc.SaveUserInfo(ctx, "", tok, again); err != nil || u.Profile.NickName != nick || u.Profile.City != "深圳" {
		t.Fatalf("a later real payload: %+v, %v", u.Profile, err)
	}
	if u.UserSet != domain.FieldNickName {
		t.Fatalf("sources: %b", u.UserSet)
	}
}

// A re-sent profile is answered as the user is now, after every other
// change (the user cache's copy follows every write: adapters/usercache).
func TestSaveUserInfo_ResentProfileAnswersTheUserAsItIsNow(t *testing.T) {
	ctx := context.Background()
	for name, change := range map[string]func(w *world, tok string) error{
		"edit": func(w *world, tok string) error {
			_, err := w.svc.EditProfile(ctx, "", tok, domain.ProfileInput{NickName: ptr("Typed")})
			return err
		},
		"avatar": func(w *world, tok string) error {
			_, err := w.svc.SetAvatar(ctx, "", tok, picture(t, 7))
			return err
		},
		"other profile": func(w *world, tok string) error {
			_, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "Typed"))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, app.Options{})
			tok := w.login(t, "c1", "o1", key1)
			if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "From WeChat")); err != nil {
				t.Fatal(err)
			}
			if err := change(w, tok); err != nil {
				t.Fatal(err)
			}
			want, err := w.users.Get(ctx, domain.Identity{AppID: appID, OpenID: "o1"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "From WeChat"))
			if err != nil {
				t.Fatal(err)
			}
			if name == "other profile" {
				want.Profile.NickName = "From WeChat" // the payload's, saved again
			}
			if got.Profile.NickName != want.Profile.NickName || got.Avatar != want.Avatar {
				t.Fatalf("answered %q (avatar %q), want %q (avatar %q)", got.Profile.NickName, got.Avatar, want.Profile.NickName, want.Avatar)
			}
		})
	}
}

// A changed profile keeps a change made meanwhile (straight in the
// database, say).
func TestSaveUserInfo_AnotherProfileKeepsChangesMadeMeanwhile(t *testing.T) {
	w := newWorld(t, app.Options{})
	ctx := context.Background()
	tok := w.login(t, "c1", "o1", key1)
	if _, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "First")); err != nil {
		t.Fatal(err)
	}
	id := domain.Identity{AppID: appID, OpenID: "o1"}
	if _, err := w.users.UpdateUser(ctx, id, func(u *domain.User) (bool, error) { // behind the use case's back
		u.Profile.Province, u.UserSet = "Zhejiang", domain.FieldProvince
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.SaveUserInfo(ctx, "", tok, w.payload(t, key1, "o1", "Second"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := w.users.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]domain.User{"answered": got, "stored": stored} {
		if u.Profile.NickName != "Second" || u.Profile.Province != "Zhejiang" || u.Profile.City != "广州" {
			t.Errorf("%s %+v", name, u.Profile)
		}
	}
}
