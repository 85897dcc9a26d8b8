package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wxbackend/domain"
)

// TokenTTL is how long the sandbox's access tokens live, as WeChat's.
const TokenTTL = 2 * time.Hour

// riskyWords are what the sandbox's content check calls risky; reviewWords
// what it sends to review. Case-insensitive.
var (
	riskyWords  = []string{"赌博", "casino", "毒品"}
	reviewWords = []string{"代购", "proxy"}
)

// accessToken is a token the sandbox issued.
type accessToken struct {
	value   string
	expires time.Time
}

// phoneCode is a getPhoneNumber code.
type phoneCode struct {
	user   *user
	issued time.Time
	used   bool
}

// APICounters are the sandbox's server-API calls, for tests and load runs.
type APICounters struct {
	TokensIssued  int // new access tokens (stable_token normal mode answering the one in force is not new)
	TokenRequests int // calls of stable_token and token
	ForcedTokens  int // stable_token calls with force_refresh
	PhoneCalls    int
	CheckSessions int
	TextChecks    int
	Rejected      int // calls answered 40001 or 42001
}

// Counters returns the server-API counters.
func (s *Sandbox) Counters() APICounters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters
}

// InvalidateAccessToken makes the token in force invalid at once, as a
// cgi-bin/token call from elsewhere would: calls with it answer 40001.
func (s *Sandbox) InvalidateAccessToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = nil
}

// PhoneOf is the phone number of a sandbox user: 1 + 10 digits from the name.
func PhoneOf(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("13%09d", h.Sum64()%1_000_000_000)
}

func newTokenValue() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// issueLocked returns the token in force, or a new one (force, or none in
// force). cgi-bin/token (replace) makes the old one invalid at once.
func (s *Sandbox) issueLocked(force, replace bool) accessToken {
	now := s.now()
	var live []accessToken
	for _, t := range s.tokens {
		if now.Before(t.expires) {
			live = append(live, t)
		}
	}
	s.tokens = live
	if len(live) > 0 && !force && !replace {
		return live[len(live)-1]
	}
	t := accessToken{value: newTokenValue(), expires: now.Add(s.tokenTTL)}
	s.counters.TokensIssued++
	if replace {
		s.tokens = []accessToken{t}
	} else {
		// A forced refresh keeps the previous token valid for 5 minutes more.
		for i := range s.tokens {
			if s.tokens[i].expires.After(now.Add(5 * time.Minute)) {
				s.tokens[i].expires = now.Add(5 * time.Minute)
			}
		}
		s.tokens = append(s.tokens, t)
	}
	return t
}

// validLocked reports whether value is a live access token.
func (s *Sandbox) validLocked(value string) bool {
	now := s.now()
	for _, t := range s.tokens {
		if t.value == value && now.Before(t.expires) {
			return true
		}
	}
	return false
}

type apiAnswer map[string]any

func apiError(code int, msg string) apiAnswer {
	var rid [6]byte
	_, _ = rand.Read(rid[:])
	return apiAnswer{"errcode": code, "errmsg": fmt.Sprintf("%s, rid: %x", msg, rid)}
}

// serveStableToken is POST cgi-bin/stable_token.
func (s *Sandbox) serveStableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
		writeAPI(w, apiError(47001, "data format error"))
		return
	}
	writeAPI(w, s.token(req.AppID, req.Secret, req.GrantType, req.ForceRefresh, false))
}

// serveToken is GET cgi-bin/token, the older API: every call issues a new
// token and invalidates the previous one (why servers that share an app
// must not call it).
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	writeAPI(w, s.token(q.Get("appid"), q.Get("secret"), q.Get("grant_type"), false, true))
}

func (s *Sandbox) token(appID, secret, grantType string, force, replace bool) apiAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters.TokenRequests++
	switch {
	case appID != s.appID:
		return apiError(40013, "invalid appid")
	case secret != s.secret:
		return apiError(40125, "invalid appsecret")
	case grantType != "client_credential":
		return apiError(40002, "invalid grant_type")
	}
	if force {
		s.counters.ForcedTokens++
	}
	t := s.issueLocked(force, replace)
	return apiAnswer{"access_token": t.value, "expires_in": int((t.expires.Sub(s.now()) + time.Second - 1) / time.Second)}
}

// authorize checks the access_token of a server-API call.
func (s *Sandbox) authorizeLocked(r *http.Request) (apiAnswer, bool) {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		return apiError(41001, "access_token missing"), false
	}
	if !s.validLocked(tok) {
		s.counters.Rejected++
		return apiError(40001, "invalid credential, access_token is invalid or not latest"), false
	}
	return nil, true
}

// PhoneCode is getPhoneNumber's code for the user: single use, for CodeTTL.
func (s *Sandbox) PhoneCode(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(name)
	if err != nil {
		return "", err
	}
	c := newTokenValue()[:32]
	now := s.now()
	s.forgetOld(now)
	s.phoneCodes[c] = &phoneCode{user: u, issued: now}
	s.issued = append(s.issued, issuedCode{id: c, at: now, phone: true})
	return c, nil
}

// EncryptedPhone is getPhoneNumber's older answer: the number sealed under
// the user's session_key with a watermark, as getUserInfo is.
type EncryptedPhone struct {
	EncryptedData string `json:"encryptedData"`
	IV            string `json:"iv"`
}

// GetPhoneNumber is <button open-type="getPhoneNumber">: today's code, and
// the encrypted form older clients send.
func (s *Sandbox) GetPhoneNumber(ctx context.Context, name string) (string, EncryptedPhone, error) {
	code, err := s.PhoneCode(ctx, name)
	if err != nil {
		return "", EncryptedPhone{}, err
	}
	s.mu.Lock()
	u := s.users[name]
	key, phone, now := u.key, PhoneOf(name), s.now()
	s.mu.Unlock()
	if key.IsZero() {
		return "", EncryptedPhone{}, ErrNotLoggedIn
	}
	plain, err := marshal(map[string]any{"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
		"watermark": map[string]any{"timestamp": now.Unix(), "appid": s.appID}})
	if err != nil {
		return "", EncryptedPhone{}, err
	}
	var iv [16]byte
	_, _ = rand.Read(iv[:])
	data, err := encrypt(key, iv, plain)
	if err != nil {
		return "", EncryptedPhone{}, err
	}
	return code, EncryptedPhone{EncryptedData: data, IV: base64.StdEncoding.EncodeToString(iv[:])}, nil
}

// servePhoneNumber is POST wxa/business/getuserphonenumber.
func (s *Sandbox) servePhoneNumber(w http.ResponseWriter, r *http.Request) {
	var req struct{ Code string }
	_ = json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters.PhoneCalls++
	if a, ok := s.authorizeLocked(r); !ok {
		writeAPI(w, a)
		return
	}
	c, ok := s.phoneCodes[req.Code]
	switch {
	case req.Code == "":
		writeAPI(w, apiError(47001, "data format error"))
		return
	case !ok || s.now().Sub(c.issued) >= s.codeTTL:
		writeAPI(w, apiError(40029, "invalid code"))
		return
	case c.used:
		writeAPI(w, apiError(40163, "code been used"))
		return
	}
	c.used = true
	phone := PhoneOf(c.user.name)
	writeAPI(w, apiAnswer{"errcode": 0, "errmsg": "ok", "phone_info": map[string]any{
		"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
		"watermark": map[string]any{"timestamp": s.now().Unix(), "appid": s.appID}}})
}

// CheckSessionSignature is the signature wxa/checksession expects, computed
// here independently of the backend's: hex HMAC-SHA256 of "" keyed by the
// session_key's base64 text.
func CheckSessionSignature(sessionKeyB64 string) string {
	m := hmac.New(sha256.New, []byte(sessionKeyB64))
	m.Write(nil)
	return hex.EncodeToString(m.Sum(nil))
}

// serveCheckSession is GET wxa/checksession.
func (s *Sandbox) serveCheckSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters.CheckSessions++
	if a, ok := s.authorizeLocked(r); !ok {
		writeAPI(w, a)
		return
	}
	if _, answer := s.signedUserLocked(q); answer != nil {
		writeAPI(w, answer)
		return
	}
	writeAPI(w, apiAnswer{"errcode": 0, "errmsg": "ok"})
}

// signedUserLocked finds the user a session-key call names (openid) and
// checks its signature with the user's current key; a non-nil answer is the
// error to send.
func (s *Sandbox) signedUserLocked(q url.Values) (*user, apiAnswer) {
	if q.Get("sig_method") != "hmac_sha256" {
		return nil, apiError(87010, "invalid sig_method")
	}
	for _, u := range s.users {
		if u.openID != q.Get("openid") {
			continue
		}
		if u.key.IsZero() || !hmac.Equal([]byte(q.Get("signature")), []byte(CheckSessionSignature(u.key.Base64()))) {
			return nil, apiError(87009, "invalid signature")
		}
		return u, nil
	}
	return nil, apiError(40003, "invalid openid")
}

// serveResetSessionKey is GET wxa/resetusersessionkey: a signature made
// with the user's current key gets a new key, which replaces it.
func (s *Sandbox) serveResetSessionKey(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authorizeLocked(r); !ok {
		writeAPI(w, a)
		return
	}
	u, answer := s.signedUserLocked(q)
	if answer != nil {
		writeAPI(w, answer)
		return
	}
	u.key = newSessionKey()
	writeAPI(w, apiAnswer{"errcode": 0, "errmsg": "ok", "openid": u.openID, "session_key": u.key.Base64()})
}

// serveMsgSecCheck is POST wxa/msg_sec_check, version 2.
func (s *Sandbox) serveMsgSecCheck(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Content string `json:"content"`
		Version int    `json:"version"`
		Scene   int    `json:"scene"`
		OpenID  string `json:"openid"`
	}
	_ = json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters.TextChecks++
	if a, ok := s.authorizeLocked(r); !ok {
		writeAPI(w, a)
		return
	}
	if req.Version != 2 || req.Scene < 1 || req.Scene > 4 || req.OpenID == "" {
		writeAPI(w, apiError(47001, "data format error"))
		return
	}
	suggest, label := "pass", 100
	text := strings.ToLower(req.Content)
	for _, word := range reviewWords {
		if strings.Contains(text, word) {
			suggest, label = "review", 20001
		}
	}
	for _, word := range riskyWords {
		if strings.Contains(text, word) {
			suggest, label = "risky", 20001
		}
	}
	writeAPI(w, apiAnswer{"errcode": 0, "errmsg": "ok", "result": map[string]any{"suggest": suggest, "label": label}})
}

// writeAPI answers as WeChat's server API does: HTTP 200 and JSON.
func writeAPI(w http.ResponseWriter, a apiAnswer) {
	if _, ok := a["errcode"]; !ok {
		a["errcode"] = 0
		a["errmsg"] = "ok"
	}
	b, _ := json.Marshal(a)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
}

// newSessionKey is a fresh random session_key.
func newSessionKey() domain.SessionKey {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key, _ := domain.ParseSessionKey(base64.StdEncoding.EncodeToString(k[:]))
	return key
}
