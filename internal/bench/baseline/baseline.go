// Package baseline is the yardstick of the benchmarks: the seed tutorial's two
// routes, /login/ and /getinfo/, done with no architecture at all (plain
// net/http, database/sql, a map or plain Redis commands for sessions, the
// standard library's AES and JSON). It does the same work per request as
// wxbackend — the jscode2session call, the user insert, the decrypt, the
// watermark check, the same UPDATE — and nothing else: no request ids, no
// logging, no checks beyond those. It is for `make bench` only; cmd/baseline
// runs it.
//
// For the first session of a new user it also answers GET /api/v1/me (the
// session, then one SELECT of the user's row). And it serves the floor of
// the table: POST /floor/ answers the login's envelope and does nothing
// else (what net/http and JSON cost at all), POST /floor/insert/ does the
// one INSERT of a new user's login too. GET /debug/mallocs answers the
// process's heap allocations so far, for allocations per request.
//
// Configured by environment: BASELINE_ADDR, BASELINE_DB_DRIVER (sqlite,
// mysql, postgres), BASELINE_DB_DSN, BASELINE_REDIS_ADDR (empty: sessions in
// a map), BASELINE_WECHAT_URL, BASELINE_APP_ID, BASELINE_APP_SECRET. The
// wx_users table must exist (wxbackend migrate).
package baseline

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"
)

// wechatClient keeps connections to WeChat open, as wxbackend's does.
var wechatClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}

type session struct{ openID, key string }

type server struct {
	db                  *sql.DB
	driver              string
	insert, update, me  string
	wechat, app, secret string
	redis               *goredis.Client
	mu                  sync.RWMutex
	sessions            map[[32]byte]session
}

// Serve serves the two routes as configured by getenv (os.Getenv: the
// BASELINE_… variables above) until ctx ends, then shuts down.
func Serve(ctx context.Context, getenv func(string) string) error {
	s := &server{
		driver: getenv("BASELINE_DB_DRIVER"), wechat: getenv("BASELINE_WECHAT_URL"),
		app: getenv("BASELINE_APP_ID"), secret: getenv("BASELINE_APP_SECRET"),
		sessions: map[[32]byte]session{},
	}
	var err error
	if s.db, err = sql.Open(s.driver, getenv("BASELINE_DB_DSN")); err != nil {
		return err
	}
	defer s.db.Close()
	s.insert = `INSERT INTO wx_users (app_id, open_id, union_id, created_at, updated_at) VALUES (?, ?, '', ?, ?) ON CONFLICT (app_id, open_id) DO NOTHING`
	s.update = `UPDATE wx_users SET nick_name = ?, avatar_url = ?, gender = ?, language = ?, city = ?, province = ?, country = ?, updated_at = ? WHERE app_id = ? AND open_id = ?`
	s.me = `SELECT union_id, nick_name, avatar_url, gender, language, city, province, country FROM wx_users WHERE app_id = ? AND open_id = ?`
	switch s.driver {
	case "mysql":
		s.insert = `INSERT IGNORE INTO wx_users (app_id, open_id, union_id, created_at, updated_at) VALUES (?, ?, '', ?, ?)`
	case "postgres":
		s.insert = `INSERT INTO wx_users (app_id, open_id, union_id, created_at, updated_at) VALUES ($1, $2, '', $3, $4) ON CONFLICT (app_id, open_id) DO NOTHING`
		s.update = `UPDATE wx_users SET nick_name = $1, avatar_url = $2, gender = $3, language = $4, city = $5, province = $6, country = $7, updated_at = $8 WHERE app_id = $9 AND open_id = $10`
		s.me = `SELECT union_id, nick_name, avatar_url, gender, language, city, province, country FROM wx_users WHERE app_id = $1 AND open_id = $2`
	case "sqlite":
		s.db.SetMaxOpenConns(1)
	}
	if s.driver != "sqlite" { // the pool wxbackend uses, so the comparison is of code, not of pools
		s.db.SetMaxOpenConns(32)
	}
	s.db.SetMaxIdleConns(32)
	if addr := getenv("BASELINE_REDIS_ADDR"); addr != "" {
		s.redis = goredis.NewClient(&goredis.Options{Addr: addr})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/", s.login)
	mux.HandleFunc("POST /getinfo/", s.getinfo)
	mux.HandleFunc("GET /api/v1/me", s.getMe)
	mux.HandleFunc("POST /floor/", floor)
	mux.HandleFunc("POST /floor/insert/", s.floorInsert)
	mux.HandleFunc("GET /debug/mallocs", mallocs)
	srv := &http.Server{Addr: getenv("BASELINE_ADDR"), Handler: mux}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func reply(w http.ResponseWriter, code int, data any) {
	w.Header().Set("Content-Type", "application/json")
	if code != 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "status": code, "msg": "ok", "data": data})
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Code string }
	if json.NewDecoder(r.Body).Decode(&in) != nil || in.Code == "" {
		reply(w, 1, nil)
		return
	}
	q := url.Values{"appid": {s.app}, "secret": {s.secret}, "js_code": {in.Code}, "grant_type": {"authorization_code"}}
	resp, err := wechatClient.Get(s.wechat + "/sns/jscode2session?" + q.Encode())
	if err != nil {
		reply(w, 8, nil)
		return
	}
	var wx struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		ErrCode    int    `json:"errcode"`
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if json.Unmarshal(body, &wx) != nil || wx.ErrCode != 0 {
		reply(w, 3, nil)
		return
	}
	now := time.Now().UTC()
	if _, err := s.db.ExecContext(r.Context(), s.insert, s.app, wx.OpenID, now, now); err != nil {
		reply(w, 9, nil)
		return
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	digest := sha256.Sum256([]byte(token))
	if s.redis != nil {
		if err := s.redis.Set(r.Context(), "baseline:"+string(digest[:]), wx.OpenID+"|"+wx.SessionKey, 24*time.Hour).Err(); err != nil {
			reply(w, 9, nil)
			return
		}
	} else {
		s.mu.Lock()
		s.sessions[digest] = session{wx.OpenID, wx.SessionKey}
		s.mu.Unlock()
	}
	reply(w, 0, map[string]any{"token": token, "expires_in": 86400})
}

// session returns the session of token.
func (s *server) session(ctx context.Context, token string) (session, bool) {
	digest := sha256.Sum256([]byte(token))
	if s.redis != nil {
		v, err := s.redis.Get(ctx, "baseline:"+string(digest[:])).Result()
		openID, key, ok := strings.Cut(v, "|")
		return session{openID, key}, err == nil && ok
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[digest]
	return sess, ok
}

func (s *server) getMe(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sess, found := s.session(r.Context(), token)
	if !ok || !found {
		reply(w, 2, nil)
		return
	}
	var u struct {
		UnionID, NickName, AvatarURL, Language, City, Province, Country string
		Gender                                                          int
	}
	if err := s.db.QueryRowContext(r.Context(), s.me, s.app, sess.openID).Scan(&u.UnionID, &u.NickName, &u.AvatarURL,
		&u.Gender, &u.Language, &u.City, &u.Province, &u.Country); err != nil {
		reply(w, 9, nil)
		return
	}
	reply(w, 0, map[string]any{"openid": sess.openID, "unionid": u.UnionID, "nickName": u.NickName, "avatarUrl": u.AvatarURL,
		"gender": u.Gender, "language": u.Language, "city": u.City, "province": u.Province, "country": u.Country})
}

// floorToken is what the floor answers in place of a token: of a token's
// length, so the envelope is the login's.
var floorToken = strings.Repeat("t", 43)

// floor reads the body and answers the login's envelope: the least any
// server does for a request.
func floor(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	reply(w, 0, map[string]any{"token": floorToken, "expires_in": 86400})
}

// floorInsert is floor with a new user's INSERT: the body's code is the
// new user's openid.
func (s *server) floorInsert(w http.ResponseWriter, r *http.Request) {
	var in struct{ Code string }
	if json.NewDecoder(r.Body).Decode(&in) != nil || in.Code == "" {
		reply(w, 1, nil)
		return
	}
	now := time.Now().UTC()
	if _, err := s.db.ExecContext(r.Context(), s.insert, s.app, in.Code, now, now); err != nil {
		reply(w, 9, nil)
		return
	}
	reply(w, 0, map[string]any{"token": floorToken, "expires_in": 86400})
}

// mallocs answers how many heap objects the process allocated so far.
func mallocs(w http.ResponseWriter, _ *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	_, _ = io.WriteString(w, strconv.FormatUint(ms.Mallocs, 10))
}

func (s *server) getinfo(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IV           string `json:"iv"`
		EncrypedData string `json:"encrypedData"`
		Token        string `json:"token"`
	}
	if json.NewDecoder(r.Body).Decode(&in) != nil || in.IV == "" || in.EncrypedData == "" || in.Token == "" {
		reply(w, 1, nil)
		return
	}
	sess, ok := s.session(r.Context(), in.Token)
	if !ok {
		reply(w, 2, nil)
		return
	}
	key, err1 := base64.StdEncoding.DecodeString(sess.key)
	iv, err2 := base64.StdEncoding.DecodeString(in.IV)
	data, err3 := base64.StdEncoding.DecodeString(in.EncrypedData)
	if err1 != nil || err2 != nil || err3 != nil || len(iv) != 16 || len(data) == 0 || len(data)%16 != 0 {
		reply(w, 1, nil)
		return
	}
	block, _ := aes.NewCipher(key)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(data, data)
	if p := int(data[len(data)-1]); p >= 1 && p <= 16 {
		data = data[:len(data)-p]
	}
	var u struct {
		NickName, AvatarURL, Language, City, Province, Country string
		Gender                                                 int
		Watermark                                              struct{ AppID string }
	}
	if json.Unmarshal(data, &u) != nil {
		reply(w, 4, nil)
		return
	}
	if u.Watermark.AppID != s.app {
		reply(w, 5, nil)
		return
	}
	if _, err := s.db.ExecContext(r.Context(), s.update, u.NickName, u.AvatarURL, u.Gender, u.Language,
		u.City, u.Province, u.Country, time.Now().UTC(), s.app, sess.openID); err != nil {
		reply(w, 9, nil)
		return
	}
	reply(w, 0, map[string]any{"name": u.NickName, "avatar": u.AvatarURL, "language": u.Language,
		"province": u.Province, "country": u.Country, "city": u.City})
}
