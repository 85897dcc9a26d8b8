package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image"
	"image/png"
	"net/http/httptest"
	"strings"
	"testing"

	"wxbackend/domain"
	"wxbackend/ports"
)

// splice returns the iv that makes the first block of sealed(genuine)
// decrypt to prefix (16 bytes), as a user can with their own ciphertext:
// CBC has no integrity, and block 0's plaintext is D(C0) xor iv.
func splice(t *testing.T, genuine, prefix string) string {
	t.Helper()
	if len(prefix) != 16 || len(genuine) < 16 {
		t.Fatalf("prefix %q is not one block", prefix)
	}
	var forged [16]byte
	for i := range forged {
		forged[i] = iv[i] ^ genuine[i] ^ prefix[i]
	}
	return base64.StdEncoding.EncodeToString(forged[:])
}

// Items 4 and 5: what a spliced or altered payload carries is stored clean:
// no bidi override, no C0 or C1 control, no ESC, no markup, no javascript:
// avatar, the nickname within the edit's bound.
func TestSplicedPayload_IsStoredClean(t *testing.T) {
	wm := `"watermark":{"appid":"` + appID + `","timestamp":1}}`
	long := strings.Repeat("n", 97)
	for _, c := range []struct {
		name, genuine, prefix string // prefix "": the payload as sealed
		check                 func(domain.Profile) bool
	}{
		{"RLO nickname of 100 characters", `{"nickName":"abc` + long + `",` + wm, `{"nickName":"` + "\u202E",
			func(p domain.Profile) bool { return p.NickName == strings.Repeat("n", domain.MaxNickNameRunes) }},
		{"C1 control in the nickname", `{"nickName":"abcdef",` + wm, `{"nickName":"` + "\u0085x",
			func(p domain.Profile) bool { return p.NickName == "xdef" }},
		{"ESC sequence city", `{"city":"Guangzhou",` + wm, `{"city":"\u001b[`,
			func(p domain.Profile) bool { return p.City == "[ou" }},
		{"javascript: avatar", `{"avatarUrl":"javascript:alert(1)",` + wm, "",
			func(p domain.Profile) bool { return p.AvatarURL == "" }},
		{"HTML city", `{"city":"<img src=x onerror=alert(1)>",` + wm, "",
			func(p domain.Profile) bool { return p.City == "img src=x onerror=alert(1)" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			tok := f.login(t, "c1")
			iv := ivText
			if c.prefix != "" {
				iv = splice(t, c.genuine, c.prefix)
			}
			r := f.do(t, "POST", "/api/v1/userinfo", map[string]any{"iv": iv, "encryptedData": sealed(t, c.genuine)}, "Authorization", "Bearer "+tok)
			want(t, r, 0, 200)
			u, err := f.users.Get(t.Context(), domain.Identity{AppID: appID, OpenID: "o1"})
			if err != nil {
				t.Fatal(err)
			}
			p := u.Profile
			if !c.check(p) {
				t.Fatalf("stored %#v", p)
			}
			for _, s := range []string{p.NickName, p.AvatarURL, p.City, p.Province, p.Country, p.Language, r.raw} {
				if strings.ContainsAny(s, "\u202E\u0085\x1b<>") || strings.Contains(s, `\u001b`) || strings.Contains(s, "javascript") {
					t.Fatalf("stored or answered unclean text %q", s)
				}
			}
		})
	}
}

// Item 4: a spliced payload sent with the genuine rawData and signature is
// refused (code 6) and writes nothing; the genuine one passes.
func TestSplicedPayload_DiffersFromRawData(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	raw := `{"nickName":"abcdef","gender":1}`
	genuine := `{"nickName":"abcdef","gender":1,"watermark":{"appid":"` + appID + `","timestamp":1}}`
	sum := sha1.Sum([]byte(raw + key1))
	body := map[string]any{"encryptedData": sealed(t, genuine), "rawData": raw, "signature": hex.EncodeToString(sum[:])}
	writes := f.users.WriteCount()
	body["iv"] = splice(t, genuine, `{"nickName":"`+"\u202E")
	want(t, f.do(t, "POST", "/api/v1/userinfo", body, "Authorization", "Bearer "+tok), 6, 400)
	if f.users.WriteCount() != writes {
		t.Fatal("a spliced payload wrote")
	}
	body["iv"] = ivText
	want(t, f.do(t, "POST", "/api/v1/userinfo", body, "Authorization", "Bearer "+tok), 0, 200)
}

// Item 5: a nickname with nothing visible is code 1 on the edit route.
func TestEditProfile_InvisibleNicknameIsCode1(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	for _, nick := range []string{"\u200B", " \u200B\u200C\u200D ", "\u2060\uFEFF", "\u3164", "\u202E\u200F"} {
		want(t, f.do(t, "POST", "/api/v1/me/profile", map[string]any{"nickName": nick}, "Authorization", "Bearer "+tok), 1, 400)
	}
}

// Item 6: a spliced phone payload without a number is the client's fault:
// code 4 with the message of every undecryptable payload, not code 8.
func TestSplicedPhonePayload_WithoutANumberIsCode4(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	genuine := `{"purePhoneNumber":"13800138000","countryCode":"86","watermark":{"appid":"` + appID + `","timestamp":1}}`
	body := map[string]any{"encryptedData": sealed(t, genuine), "iv": splice(t, genuine, `{"purePhoneNumbX`)}
	r := f.do(t, "POST", "/api/v1/me/phone", body, "Authorization", "Bearer "+tok)
	want(t, r, 4, 400)
	if r.Msg != domain.KindUndecryptable.Message() {
		t.Fatalf("message %q, want the one of every undecryptable payload", r.Msg)
	}
	if strings.Contains(f.logs.String(), "level=ERROR") {
		t.Fatalf("a client's payload logged an error:\n%s", f.logs.String())
	}
}

// slowUsers is a user store that answers as a database does when its
// caller's context ends: unavailable, with the context's error.
type slowUsers struct{ ports.UserRepo }

func (s slowUsers) Get(ctx context.Context, id domain.Identity) (domain.User, error) {
	if err := ctx.Err(); err != nil {
		return domain.User{}, domain.Wrap(domain.KindUnavailable, err)
	}
	return s.UserRepo.Get(ctx, id)
}

// Item 6: a request its client cancelled is no server fault: not code 9
// or 10, not logged at ERROR; a deadline of ours still is code 9.
func TestCancelledRequest_IsNoServerFault(t *testing.T) {
	f := newFixture(t, func(r ports.UserRepo) ports.UserRepo { return slowUsers{r} })
	tok := f.login(t, "c1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/api/v1/me", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != 499 || !strings.Contains(rec.Body.String(), `"code":7`) {
		t.Fatalf("HTTP %d %s, want 499 and code 7", rec.Code, rec.Body.String())
	}
	logs := f.logs.String()
	if strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "level=INFO msg=\"request failed\"") || !strings.Contains(logs, "kind=client_gone") {
		t.Fatalf("a cancelled request was not logged at INFO only:\n%s", logs)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 0)
	defer dcancel()
	<-dctx.Done()
	if !errors.Is(dctx.Err(), context.DeadlineExceeded) {
		t.Fatal(dctx.Err())
	}
	req = httptest.NewRequest("GET", "/api/v1/me", nil).WithContext(dctx)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != 503 {
		t.Fatalf("a deadline: HTTP %d %s, want 503", rec.Code, rec.Body.String())
	}
}

// Item 2 and 6: an avatar upload whose client left while it waited for
// decode memory is no server fault either (it was code 9 at ERROR).
func TestCancelledAvatarUpload_IsNoServerFault(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 32, 32))); err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(t, map[string][]byte{"avatar": img.Bytes()}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("POST", "/api/v1/me/avatar", body).WithContext(ctx)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != 499 || !strings.Contains(rec.Body.String(), `"code":7`) {
		t.Fatalf("HTTP %d %s, want 499 and code 7", rec.Code, rec.Body.String())
	}
	if logs := f.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Fatalf("a cancelled upload logged an error:\n%s", logs)
	}
}
