package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wxbackend/app"
	"wxbackend/domain"
)

// Issue 23 item 7: an encrypted phone payload's watermark is held to
// WatermarkMaxAge as user info's is; WeChat's answer by code is as fresh as
// the call.
func TestSetPhone_EncryptedPayloadWatermarkAge(t *testing.T) {
	w := newWorld(t, app.Options{WatermarkMaxAge: 3 * time.Second})
	tok := w.login(t, "c1", "o1", key1)
	ctx := context.Background()
	seal := func(at time.Time) string {
		return seal(t, key1, fmt.Sprintf(`{"phoneNumber":"13900139000","purePhoneNumber":"13900139000","countryCode":"86","watermark":{"appid":%q,"timestamp":%d}}`, appID, at.Unix()))
	}
	writes := w.users.WriteCount()
	_, err := w.svc.SetPhone(ctx, "", tok, app.PhoneInput{EncryptedData: seal(w.clock.Now().Add(-5 * time.Second)), IV: iv})
	wantKind(t, err, domain.KindWatermark)
	if w.users.WriteCount() != writes {
		t.Fatal("an old payload wrote")
	}
	u, err := w.svc.SetPhone(ctx, "", tok, app.PhoneInput{EncryptedData: seal(w.clock.Now().Add(-time.Second)), IV: iv})
	if err != nil || u.Phone.PureNumber != "13900139000" {
		t.Fatalf("a fresh payload: %+v, %v", u.Phone, err)
	}
	w.wechat.AddPhoneCode("p1", phoneInfo("13800138000")) // its watermark is of 1970
	if u, err := w.svc.SetPhone(ctx, "", tok, app.PhoneInput{Code: "p1"}); err != nil || u.Phone.PureNumber != "13800138000" {
		t.Fatalf("by code: %+v, %v", u.Phone, err)
	}
}
