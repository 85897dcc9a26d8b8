package app_test

import (
	"context"
	"fmt"
	"testing"

	"wxbackend/app"
	"wxbackend/domain"
)

// Tests of phone numbers (phone.go).

func phoneInfo(number string) domain.PhoneInfo {
	return domain.PhoneInfo{Phone: domain.Phone{Number: number, PureNumber: number, CountryCode: "86"},
		Watermark: domain.Watermark{AppID: appID, Timestamp: 1}}
}

func TestSetPhone_ByCodeAndByEncryptedData(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	w.wechat.AddPhoneCode("p1", phoneInfo("13800138000"))
	u, err := w.svc.SetPhone(ctx, "", tok, app.PhoneInput{Code: "p1"})
	if err != nil || u.Phone.PureNumber != "13800138000" || u.Phone.CountryCode != "86" {
		t.Fatalf("by code: %+v, %v", u.Phone, err)
	}
	if fmt.Sprint(u.Phone) != "138****8000" {
		t.Fatalf("a phone prints as %q", fmt.Sprint(u.Phone))
	}
	_, err = w.svc.SetPhone(ctx, "", tok, app.PhoneInput{Code: "p1"}) // used
	wantKind(t, err, domain.KindBadCode)

	sealed := seal(t, key1, fmt.Sprintf(`{"phoneNumber":"13900139000","purePhoneNumber":"13900139000","countryCode":"86","watermark":{"appid":%q,"timestamp":1}}`, appID))
	u, err = w.svc.SetPhone(ctx, "", tok, app.PhoneInput{EncryptedData: sealed, IV: iv})
	if err != nil || u.Phone.PureNumber != "13900139000" {
		t.Fatalf("by encrypted data: %+v, %v", u.Phone, err)
	}
	if me, _ := w.svc.Me(ctx, "", tok); me.Phone.PureNumber != "13900139000" {
		t.Fatalf("me: %+v", me.Phone)
	}
	u, err = w.svc.RemovePhone(ctx, "", tok)
	if err != nil || !u.Phone.IsZero() {
		t.Fatalf("remove: %+v, %v", u.Phone, err)
	}
}

func TestSetPhone_RejectsAndWritesNothing(t *testing.T) {
	w := newWorld(t, app.Options{})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	other := phoneInfo("13700137000")
	other.Watermark.AppID = "wxother"
	w.wechat.AddPhoneCode("otherapp", other)
	w.wechat.AddPhoneCode("nonumber", domain.PhoneInfo{Watermark: domain.Watermark{AppID: appID}})
	for name, c := range map[string]struct {
		in   app.PhoneInput
		kind domain.Kind
	}{
		"nothing":          {app.PhoneInput{}, domain.KindInvalidInput},
		"code with spaces": {app.PhoneInput{Code: "a b"}, domain.KindInvalidInput},
		"unknown code":     {app.PhoneInput{Code: "nope"}, domain.KindBadCode},
		"other app":        {app.PhoneInput{Code: "otherapp"}, domain.KindWatermark},
		"no number":        {app.PhoneInput{Code: "nonumber"}, domain.KindUpstream},
		"data without iv":  {app.PhoneInput{EncryptedData: "AAAA"}, domain.KindInvalidInput},
		"bad iv":           {app.PhoneInput{EncryptedData: "AAAA", IV: "x"}, domain.KindInvalidInput},
		"other key":        {app.PhoneInput{EncryptedData: seal(t, key2, `{}`), IV: iv}, domain.KindUndecryptable},
		"not json":         {app.PhoneInput{EncryptedData: seal(t, key1, `not json`), IV: iv}, domain.KindUndecryptable},
		"no watermark":     {app.PhoneInput{EncryptedData: seal(t, key1, `{"purePhoneNumber":"1"}`), IV: iv}, domain.KindWatermark},
		"letters":          {app.PhoneInput{EncryptedData: seal(t, key1, `{"purePhoneNumber":"13x","watermark":{"appid":"`+appID+`"}}`), IV: iv}, domain.KindUpstream},
	} {
		before := w.users.WriteCount()
		_, err := w.svc.SetPhone(ctx, "", tok, c.in)
		if domain.KindOf(err) != c.kind || w.users.WriteCount() != before {
			t.Errorf("%s: %v (kind %v), want %v; writes %d → %d", name, err, domain.KindOf(err), c.kind, before, w.users.WriteCount())
		}
	}
}
