package httpapi_test

import (
	"context"
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
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/system"
	"wxbackend/adapters/usercache"
	"wxbackend/app"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

// benchServer is the app and router of the in-process benchmarks, wired as
// the server is with memory sessions: the user repo (an in-memory fake)
// behind the user cache, the default replay window and exchange cap, the
// access log on at info level, to io.Discard.
func benchServer(b *testing.B, wx *portfake.WeChat, repo ports.UserRepo) http.Handler {
	b.Helper()
	mo := memory.Options{CleanupInterval: time.Minute}
	users, err := usercache.New(repo, memory.NewUserCache(mo), time.Hour, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := app.New(app.Deps{Sessions: memory.NewSessionStore(mo, 0, 0, system.Clock{}), Users: users,
		Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{wx}, Clock: system.Clock{}, Tokens: system.TokenSource{}},
		app.Options{SessionTTL: time.Hour, LoginReplayWindow: 10 * time.Second, MaxConcurrentExchanges: 64})
	if err != nil {
		b.Fatal(err)
	}
	return newRouter(b, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Options{MaxBodyBytes: 64 << 10, ReadyTimeout: time.Second})
}

// benchRepos are the user repos of the benchmarks: the in-memory fake (the
// server's own cost), and MariaDB and PostgreSQL (with their drivers').
func benchRepos(b *testing.B, run func(b *testing.B, repo func() ports.UserRepo)) {
	b.Run("fake", func(b *testing.B) { run(b, func() ports.UserRepo { return portfake.NewUsers() }) })
	for _, driver := range []string{"mysql", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			dsn := sqltest.Postgres
			if driver == "mysql" {
				dsn = sqltest.MySQL
			}
			st, err := sqlstore.Open(sqlstore.Options{Driver: driver, DSN: sqlstore.DSN(dsn(b)), QueryTimeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			if _, err := st.Migrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			run(b, func() ports.UserRepo { return st.Users })
		})
	}
}

// BenchmarkLogin is a whole classic /login/ through the router and the use
// case, in process, with WeChat a fake (its round trip is not counted):
// new, a user never seen before each time (the repo creates one); returning,
// the same user with a new code each time (the user cache answers).
func BenchmarkLogin(b *testing.B) { benchRepos(b, benchLogin) }

func benchLogin(b *testing.B, repo func() ports.UserRepo) {
	run := fmt.Sprint(time.Now().UnixNano()) // users of this run only
	for _, returning := range []bool{false, true} {
		name := "new"
		if returning {
			name = "returning"
		}
		b.Run(name, func(b *testing.B) {
			wx := portfake.NewWeChat(appID)
			h := benchServer(b, wx, repo())
			bodies := make([]string, b.N+1)
			for i := range bodies {
				code, openID := fmt.Sprintf("code-%d", i), fmt.Sprintf("oBench%s-%d-%d", run, b.N, i)
				if returning {
					openID = "oBench" + run + "-returning"
				}
				wx.AddCode(code, openID, "", key1)
				bodies[i] = `{"code":"` + code + `"}`
			}
			send := func(body string) {
				req := benchRequest("/login/", strings.NewReader(body))
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("HTTP %d", w.status)
				}
			}
			send(bodies[b.N]) // the returning user exists
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				send(bodies[i])
			}
		})
	}
}

// BenchmarkGetInfo is a whole classic /getinfo/ request through the router and
// the use case, in process: body parsing, session lookup (memory store), the
// real decrypter and checks, the profile update (an in-memory fake repo
// behind the user cache) and the JSON answer. same re-sends one profile;
// changing alternates two, so every request writes.
func BenchmarkGetInfo(b *testing.B) { benchRepos(b, benchGetInfo) }

func benchGetInfo(b *testing.B, repo func() ports.UserRepo) {
	key, _ := domain.ParseSessionKey(key1)
	openID := fmt.Sprintf("oBench%d-getinfo", time.Now().UnixNano())
	wx := portfake.NewWeChat(appID)
	wx.AddCode("bench-code", openID, "", key1)
	h := benchServer(b, wx, repo())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login/", strings.NewReader(`{"code":"bench-code"}`)))
	var login struct{ Data struct{ Token string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || login.Data.Token == "" {
		b.Fatalf("login: %s", rec.Body)
	}
	var bodies [2]string // as text, so that the loop's reader costs the server nothing
	for i, nick := range []string{"Band 🎸", "Band 🎸 v2"} {
		info, err := sandbox.Seal(key, appID, openID, "", sandbox.Profile{NickName: nick, Gender: 1,
			Language: "zh_CN", City: "Guangzhou", Province: "Guangdong", Country: "CN",
			AvatarURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLhKbkZ7q6jicpBd0cGbMGB3bL2jGbcKtG0/132"}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"iv": info.IV, "encrypedData": info.EncryptedData, "token": login.Data.Token})
		bodies[i] = string(body)
	}
	for _, changing := range []bool{false, true} {
		name := "same"
		if changing {
			name = "changing"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			rd := strings.NewReader("")
			i := 0
			for b.Loop() {
				if changing {
					i++
				}
				rd.Reset(bodies[i%2])
				req := benchRequest("/getinfo/", rd)
				w := &discardWriter{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("HTTP %d", w.status)
				}
			}
		})
	}
}

// benchRequest is a JSON POST to path as the server hands it to the
// router, built without parsing its text (httptest.NewRequest's 4 KB
// reader would count as the server's).
func benchRequest(path string, body io.Reader) *http.Request {
	req, err := http.NewRequest("POST", path, body)
	if err != nil {
		panic(err)
	}
	req.Header = http.Header{"Content-Type": {"application/json"}}
	req.RemoteAddr, req.RequestURI = "192.0.2.1:1234", path
	return req
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
