package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/memory"
	"wxbackend/adapters/system"
	"wxbackend/adapters/usercache"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// BenchmarkGetInfo is a whole classic /getinfo/ request through the router and
// the use case, in process: body parsing, session lookup (memory store), the
// real decrypter and checks, the profile update (an in-memory fake repo) and
// the JSON answer. The access log is on, at info level, to io.Discard.
func BenchmarkGetInfo(b *testing.B) {
	key, _ := domain.ParseSessionKey(key1)
	wx := portfake.NewWeChat(appID)
	wx.AddCode("bench-code", "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "", key1)
	// The user repo is behind the user cache, as the server wires it with
	// memory sessions.
	mo := memory.Options{CleanupInterval: time.Minute}
	users, err := usercache.New(portfake.NewUsers(), memory.NewUserCache(mo), time.Hour, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(mo, 0, 0, system.Clock{}), Users: users,
		Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{wx}, Clock: system.Clock{}, Tokens: system.TokenSource{}},
		app.Options{SessionTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	h := newRouter(b, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Options{MaxBodyBytes: 64 << 10, ReadyTimeout: time.Second})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login/", strings.NewReader(`{"code":"bench-code"}`)))
	var login struct{ Data struct{ Token string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || login.Data.Token == "" {
		b.Fatalf("login: %s", rec.Body)
	}
	info, err := sandbox.Seal(key, appID, "oGZUI0egBJY1zhBYw2KhdUfwVJJE", "", sandbox.Profile{NickName: "Band 🎸", Gender: 1,
		Language: "zh_CN", City: "Guangzhou", Province: "Guangdong", Country: "CN",
		AvatarURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLhKbkZ7q6jicpBd0cGbMGB3bL2jGbcKtG0/132"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"iv": info.IV, "encrypedData": info.EncryptedData, "token": login.Data.Token})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rd := strings.NewReader("")
		for pb.Next() {
			rd.Reset(string(body))
			req := httptest.NewRequest("POST", "/getinfo/", rd)
			req.Header.Set("Content-Type", "application/json")
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("HTTP %d", w.status)
			}
		}
	})
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}

// BenchmarkSharePhone is POST /api/v1/me/phone in process, by code (the
// access token from the cache, WeChat a fake: its round trip is not counted)
// and by encrypted data (the real decrypter): the server's own cost of the
// phone flow.
func BenchmarkSharePhone(b *testing.B) {
	key, _ := domain.ParseSessionKey(key1)
	const openID = "oGZUI0egBJY1zhBYw2KhdUfwVJJE"
	wx := portfake.NewWeChat(appID)
	wx.AddCode("bench-code", openID, "", key1)
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(memory.Options{CleanupInterval: time.Minute}, 0, 0, system.Clock{}),
		Users: portfake.NewUsers(), Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{wx}, Clock: system.Clock{}, Tokens: system.TokenSource{},
		AccessTokens: memory.NewTokenCache(system.Clock{})}, app.Options{SessionTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	h := newRouter(b, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Options{MaxBodyBytes: 64 << 10, ReadyTimeout: time.Second})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{"code":"bench-code"}`)))
	var login struct{ Data struct{ Token string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || login.Data.Token == "" {
		b.Fatalf("login: %s", rec.Body)
	}
	phone := domain.PhoneInfo{Phone: domain.Phone{Number: "13800138000", PureNumber: "13800138000", CountryCode: "86"},
		Watermark: domain.Watermark{AppID: appID, Timestamp: time.Now().Unix()}}
	plain, _ := json.Marshal(map[string]any{"phoneNumber": "13800138000", "purePhoneNumber": "13800138000", "countryCode": "86",
		"watermark": map[string]any{"appid": appID, "timestamp": time.Now().Unix()}})
	var iv [16]byte
	sealed, err := aescbc.Encrypt(key, iv, plain)
	if err != nil {
		b.Fatal(err)
	}
	send := func(b *testing.B, body string) {
		req := httptest.NewRequest("POST", "/api/v1/me/phone", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+login.Data.Token)
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("HTTP %d", w.status)
		}
	}
	b.Run("code", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			code := fmt.Sprintf("phone-%d", i)
			wx.AddPhoneCode(code, phone)
			send(b, `{"code":"`+code+`"}`)
		}
	})
	b.Run("encrypted", func(b *testing.B) {
		body := `{"encryptedData":"` + sealed + `","iv":"` + base64.StdEncoding.EncodeToString(iv[:]) + `"}`
		b.ReportAllocs()
		for b.Loop() {
			send(b, body)
		}
	})
}
