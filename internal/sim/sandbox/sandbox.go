// Package sandbox is a local stand-in for WeChat, for tests, demos and
// benchmarks. It plays both parts WeChat plays in a mini-program login:
//
//   - the server face, WeChat's API as a backend sees it: GET
//     /sns/jscode2session in WeChat's wire format (JSON sent as text/plain,
//     errcodes 40013, 40125, 41008, 40029, 40163), codes single-use and
//     expiring after five minutes;
//   - the client face, the WeChat app on a phone: wx.login issues a code for
//     a named test user and rotates that user's session_key, as WeChat does;
//     wx.getUserInfo returns encryptedData, iv, rawData and signature for the
//     user's profile under the current session_key, with a watermark.
//
// Both faces are served by Handler; the client face is also a Go API. A
// sandbox only listens on loopback (see Listen): it hands out sessions for
// any user name, so it must never be reachable from a network.
package sandbox

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"wxbackend/domain"
)

// Defaults of the sandbox's app, used when Options leave them empty.
const (
	DefaultAppID     = "wxsandbox000000000"
	DefaultAppSecret = "sandbox-app-secret"
	// CodeTTL is how long a wx.login code can be exchanged, as on WeChat.
	CodeTTL = 5 * time.Minute
	// MaxUserLen bounds a test user's name.
	MaxUserLen = 64
)

// Options configure a Sandbox.
type Options struct {
	AppID     string           // default DefaultAppID
	AppSecret string           // default DefaultAppSecret
	Now       func() time.Time // default time.Now
	CodeTTL   time.Duration    // default CodeTTL
	// UnionIDs makes WeChat send a unionid, as it does for apps bound to an
	// Open Platform account.
	UnionIDs bool
	// TokenTTL is how long access tokens live (default TokenTTL).
	TokenTTL time.Duration
	// Push is the app's message push settings (WeChat's console), for
	// POST /sandbox/push; WebhookSecret checks what the backend delivers to
	// POST /sandbox/webhook (the sandbox plays the team's service too).
	Push          PushApp
	WebhookSecret string
}

// Profile is a test user's profile, in WeChat's field names.
type Profile struct {
	NickName  string `json:"nickName"`
	Gender    int    `json:"gender"`
	Language  string `json:"language"`
	City      string `json:"city"`
	Province  string `json:"province"`
	Country   string `json:"country"`
	AvatarURL string `json:"avatarUrl"`
}

// UserInfo is what wx.getUserInfo hands a mini-program.
type UserInfo struct {
	UserInfo      Profile `json:"userInfo"`
	RawData       string  `json:"rawData"`
	Signature     string  `json:"signature"`
	EncryptedData string  `json:"encryptedData"`
	IV            string  `json:"iv"`
}

// User is what the sandbox knows of a test user.
type User struct {
	Name    string  `json:"name"`
	OpenID  string  `json:"openId"`
	UnionID string  `json:"unionId,omitempty"`
	Profile Profile `json:"profile"`
	// LoggedIn tells whether the user has a session_key (has called wx.login).
	LoggedIn bool `json:"loggedIn"`
	// Legacy tells whether getUserInfo answers the real profile (WeChat
	// before 2021) rather than the anonymous one (today).
	Legacy bool `json:"legacy"`
}

// AnonymousAvatarURL is WeChat's grey default avatar.
const AnonymousAvatarURL = "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"

// AnonymousProfile is what getUserInfo and getUserProfile answer today
// (since April 2021 and October 2022) whoever the user is.
var AnonymousProfile = Profile{NickName: "微信用户", AvatarURL: AnonymousAvatarURL}

// Errors of the client face.
var (
	ErrBadUser     = errors.New("sandbox: a user name is 1 to 64 characters of UTF-8")
	ErrNotLoggedIn = errors.New("sandbox: the user has not called wx.login")
)

type user struct {
	name            string
	openID, unionID string
	key             domain.SessionKey // zero until the first wx.login
	profile         Profile
	// legacy answers getUserInfo with the real profile, as WeChat did
	// before April 2021; otherwise it is anonymous, as today.
	legacy bool
}

type code struct {
	user   *user
	issued time.Time
	used   bool
}

// Sandbox is one WeChat app's world: its test users, their session keys and
// their outstanding login codes. It is safe for concurrent use.
type Sandbox struct {
	appID, secret string
	now           func() time.Time
	codeTTL       time.Duration
	unionIDs      bool

	tokenTTL time.Duration

	mu         sync.Mutex
	users      map[string]*user
	codes      map[string]*code
	faults     []Fault
	calls      int
	tokens     []accessToken // the access tokens in force, oldest first
	phoneCodes map[string]*phoneCode
	// issued lists the login and phone codes by issue time, so the
	// expired are forgotten oldest first, at O(1) a code: a scan of every
	// code at every wx.login, under the lock, slowed a long load run down.
	issued   []issuedCode
	counters APICounters

	// The server API passed on for other services (openapi.go).
	pathCalls map[string]int
	lastQuery map[string]url.Values
	apiFaults map[string][]Fault
	push      pushState      // push.go
	media     mediaState     // mediacheck.go
	subs      subscribeState // subscribe.go
}

// issuedCode is a code in Sandbox.issued.
type issuedCode struct {
	id    string
	at    time.Time
	phone bool
}

// forgetOld drops the codes issued over twice their lifetime ago (a
// code's answer says "used" or "invalid" until then); s.mu is held.
func (s *Sandbox) forgetOld(now time.Time) {
	for len(s.issued) > 0 && now.Sub(s.issued[0].at) > 2*s.codeTTL {
		c := s.issued[0]
		if c.phone {
			delete(s.phoneCodes, c.id)
		} else {
			delete(s.codes, c.id)
		}
		s.issued = s.issued[1:]
	}
}

// New returns an empty sandbox.
func New(o Options) *Sandbox {
	s := &Sandbox{appID: o.AppID, secret: o.AppSecret, now: o.Now, codeTTL: o.CodeTTL, unionIDs: o.UnionIDs,
		users: map[string]*user{}, codes: map[string]*code{}, phoneCodes: map[string]*phoneCode{}, tokenTTL: o.TokenTTL,
		pathCalls: map[string]int{}, lastQuery: map[string]url.Values{}, apiFaults: map[string][]Fault{}}
	if s.tokenTTL <= 0 {
		s.tokenTTL = TokenTTL
	}
	if s.appID == "" {
		s.appID = DefaultAppID
	}
	if s.secret == "" {
		s.secret = DefaultAppSecret
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.codeTTL <= 0 {
		s.codeTTL = CodeTTL
	}
	s.push.app, s.push.webhookSecret = o.Push, o.WebhookSecret
	s.push.app.AppID = s.appID
	return s
}

// AppID returns the app's appid.
func (s *Sandbox) AppID() string { return s.appID }

// AppSecret returns the app's secret, for the backend that logs in against
// the sandbox.
func (s *Sandbox) AppSecret() string { return s.secret }

// userLocked returns the named user, creating it with a default profile.
func (s *Sandbox) userLocked(name string) (*user, error) {
	if name == "" || len(name) > MaxUserLen || !utf8.ValidString(name) {
		return nil, ErrBadUser
	}
	if u, ok := s.users[name]; ok {
		return u, nil
	}
	u := &user{
		name:   name,
		openID: derivedID("openid", s.appID, name),
		profile: Profile{NickName: name, Language: "zh_CN", City: "Guangzhou", Province: "Guangdong", Country: "CN",
			AvatarURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/" + derivedID("avatar", s.appID, name)[1:] + "/132"},
	}
	if s.unionIDs {
		u.unionID = derivedID("unionid", "", name)
	}
	s.users[name] = u
	return u, nil
}

// derivedID is a stable, WeChat-shaped 28-character id for a user.
func derivedID(kind, appID, name string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + appID + "\x00" + name))
	return "o" + base64.RawURLEncoding.EncodeToString(sum[:])[:27]
}

// Login is wx.login: it returns a fresh code for the user and rotates the
// user's session_key, so data encrypted before no longer decrypts.
func (s *Sandbox) Login(_ context.Context, name string) (string, error) {
	var k [16]byte
	var c [24]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", err
	}
	if _, err := rand.Read(c[:]); err != nil {
		return "", err
	}
	key, err := domain.ParseSessionKey(base64.StdEncoding.EncodeToString(k[:]))
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(name)
	if err != nil {
		return "", err
	}
	u.key = key
	now := s.now()
	s.forgetOld(now)
	id := base64.RawURLEncoding.EncodeToString(c[:])
	s.codes[id] = &code{user: u, issued: now}
	s.issued = append(s.issued, issuedCode{id: id, at: now})
	return id, nil
}

// CheckSession is wx.checkSession: whether the user's session_key is live.
func (s *Sandbox) CheckSession(_ context.Context, name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(name)
	if err != nil {
		return false, err
	}
	return !u.key.IsZero(), nil
}

// GetUserInfo is wx.getUserInfo with credentials: the anonymous profile, as
// today's WeChat answers (or the user's own in legacy mode), signed and
// encrypted under the current session_key with a watermark of now.
func (s *Sandbox) GetUserInfo(_ context.Context, name string) (UserInfo, error) {
	s.mu.Lock()
	u, err := s.userLocked(name)
	if err != nil {
		s.mu.Unlock()
		return UserInfo{}, err
	}
	p, key, openID, unionID, now := u.profile, u.key, u.openID, u.unionID, s.now()
	if !u.legacy {
		p = AnonymousProfile
	}
	s.mu.Unlock()
	if key.IsZero() {
		return UserInfo{}, ErrNotLoggedIn
	}
	return Seal(key, s.appID, openID, unionID, p, now)
}

// Seal encrypts a profile as wx.getUserInfo does: rawData is the public
// profile as JSON, signature its sha1 with the session_key, encryptedData
// the profile with openId, unionId and a watermark under key and a random iv.
func Seal(key domain.SessionKey, appID, openID, unionID string, p Profile, at time.Time) (UserInfo, error) {
	raw, err := marshal(p)
	if err != nil {
		return UserInfo{}, err
	}
	type watermark struct {
		Timestamp int64  `json:"timestamp"`
		AppID     string `json:"appid"`
	}
	plain, err := marshal(struct {
		OpenID string `json:"openId"`
		Profile
		UnionID   string    `json:"unionId,omitempty"`
		Watermark watermark `json:"watermark"`
	}{openID, p, unionID, watermark{at.Unix(), appID}})
	if err != nil {
		return UserInfo{}, err
	}
	var iv [16]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return UserInfo{}, err
	}
	data, err := encrypt(key, iv, plain)
	if err != nil {
		return UserInfo{}, err
	}
	sig := sha1.Sum([]byte(string(raw) + key.Base64()))
	return UserInfo{UserInfo: p, RawData: string(raw), Signature: hex.EncodeToString(sig[:]),
		EncryptedData: data, IV: base64.StdEncoding.EncodeToString(iv[:])}, nil
}

// encrypt seals plain as WeChat does: PKCS#7 padding, AES-128-CBC under key
// and iv, the ciphertext in standard base64. It is the sandbox's own, not the
// backend's decrypter run backwards, so a shared mistake cannot hide.
func encrypt(key domain.SessionKey, iv [aes.BlockSize]byte, plain []byte) (string, error) {
	block, err := aes.NewCipher(key.Bytes())
	if err != nil {
		return "", err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(bytes.Clone(plain), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// marshal writes JSON as WeChat does: UTF-8 as is, no HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// SetProfile sets the user's real profile and switches the user to legacy
// mode, so that wx.getUserInfo returns it as WeChat did before 2021.
func (s *Sandbox) SetProfile(_ context.Context, name string, p Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(name)
	if err != nil {
		return err
	}
	u.profile, u.legacy = p, true
	return nil
}

// SetLegacy switches the user between today's anonymous getUserInfo (false)
// and the pre-2021 one that returns the real profile (true).
func (s *Sandbox) SetLegacy(_ context.Context, name string, legacy bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(name)
	if err != nil {
		return err
	}
	u.legacy = legacy
	return nil
}

// NicknameInput is what <input type="nickname"> offers the user above the
// keyboard: their WeChat nickname (the real profile's, or their sandbox
// name when none was set). What the page receives is what the user then
// types or accepts.
func (s *Sandbox) NicknameInput(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(name)
	if err != nil {
		return "", err
	}
	if u.profile.NickName != "" {
		return u.profile.NickName, nil
	}
	return u.name, nil
}

// ChooseAvatar is <button open-type="chooseAvatar">: the image the user
// picks (ChosenAvatar's photo, EXIF GPS included), as the file the page then
// uploads with wx.uploadFile.
func (s *Sandbox) ChooseAvatar(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	_, err := s.userLocked(name)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return ChosenAvatar(name), nil
}

// User describes a test user (creating it if new).
func (s *Sandbox) User(_ context.Context, name string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(name)
	if err != nil {
		return User{}, err
	}
	return User{Name: u.name, OpenID: u.openID, UnionID: u.unionID, Profile: u.profile, LoggedIn: !u.key.IsZero(), Legacy: u.legacy}, nil
}

// SessionKey returns the user's current session_key. Only tests need it, to
// prove that the backend never shows it.
func (s *Sandbox) SessionKey(name string) (domain.SessionKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok || u.key.IsZero() {
		return domain.SessionKey{}, false
	}
	return u.key, true
}

// Calls counts the jscode2session requests the sandbox has answered.
func (s *Sandbox) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// exchange is jscode2session's logic: the answer for the query's parameters.
func (s *Sandbox) exchange(appID, secret, jsCode, grantType string) code2SessionReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case appID != s.appID:
		return errReply(40013, "invalid appid")
	case secret != s.secret:
		return errReply(40125, "invalid appsecret")
	case jsCode == "":
		return errReply(41008, "missing code")
	case grantType != "" && grantType != "authorization_code":
		return errReply(40002, "invalid grant_type")
	}
	c, ok := s.codes[jsCode]
	switch {
	case !ok || s.now().Sub(c.issued) >= s.codeTTL:
		return errReply(40029, "invalid code")
	case c.used:
		return errReply(40163, "code been used")
	}
	c.used = true
	return code2SessionReply{OpenID: c.user.openID, SessionKey: c.user.key.Base64(), UnionID: c.user.unionID}
}

type code2SessionReply struct {
	SessionKey string `json:"session_key,omitempty"`
	OpenID     string `json:"openid,omitempty"`
	UnionID    string `json:"unionid,omitempty"`
	ErrCode    int    `json:"errcode,omitempty"`
	ErrMsg     string `json:"errmsg,omitempty"`
}

// errReply is an error answer; WeChat appends a request id to errmsg.
func errReply(code int, msg string) code2SessionReply {
	var rid [6]byte
	_, _ = rand.Read(rid[:])
	return code2SessionReply{ErrCode: code, ErrMsg: fmt.Sprintf("%s, rid: %x", msg, rid)}
}

// CodesHeld is how many login and phone codes the sandbox remembers (live,
// used or expired but not yet forgotten).
func (s *Sandbox) CodesHeld() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.codes) + len(s.phoneCodes)
}
