// Package portfake has in-memory fakes of every port, for tests of the core
// that need no disk, network or clock. The fakes pass the same contract suites
// (ports/porttest) as the real adapters, so tests that use them test the truth.
package portfake

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements ports.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Tokens makes distinct, predictable tokens.
type Tokens struct {
	mu sync.Mutex
	n  uint64
}

// NewToken implements ports.TokenSource.
func (t *Tokens) NewToken() (domain.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	var b [domain.TokenBytes]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(t.n >> (8 * i))
	}
	return domain.NewToken(b), nil
}

// NewBlobName implements ports.TokenSource: distinct, predictable names.
func (t *Tokens) NewBlobName(ext string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	var b [domain.BlobNameBytes]byte
	b[0] = 0xb1 // not a token's bytes
	for i := 0; i < 8; i++ {
		b[1+i] = byte(t.n >> (8 * i))
	}
	return domain.NewBlobName(b, ext), nil
}

// Sessions is a SessionStore in a map, with expiry read from a clock. Err, when
// set, is returned by every call (a store that is down).
type Sessions struct {
	Clock ports.Clock

	mu     sync.Mutex
	tokens map[domain.TokenDigest]tokenEntry
	keys   map[domain.Identity]domain.SessionKey
	unions map[domain.Identity]string
	Err    error
}

type tokenEntry struct {
	user      domain.Identity
	expiresAt time.Time
}

// NewSessions returns an empty store on clock.
func NewSessions(clock ports.Clock) *Sessions {
	return &Sessions{Clock: clock, tokens: map[domain.TokenDigest]tokenEntry{},
		keys: map[domain.Identity]domain.SessionKey{}, unions: map[domain.Identity]string{}}
}

// Create implements ports.SessionStore.
func (s *Sessions) Create(_ context.Context, id domain.TokenDigest, sess domain.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	u := sess.Identity()
	s.tokens[id] = tokenEntry{user: u, expiresAt: sess.ExpiresAt}
	s.keys[u] = sess.SessionKey
	if sess.UnionID != "" {
		s.unions[u] = sess.UnionID
	}
	return nil
}

// Get implements ports.SessionStore.
func (s *Sessions) Get(_ context.Context, id domain.TokenDigest) (domain.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return domain.Session{}, s.Err
	}
	e, ok := s.tokens[id]
	if !ok || !s.Clock.Now().Before(e.expiresAt) {
		return domain.Session{}, domain.ErrUnauthenticated
	}
	return domain.Session{AppID: e.user.AppID, OpenID: e.user.OpenID, UnionID: s.unions[e.user],
		SessionKey: s.keys[e.user], ExpiresAt: e.expiresAt}, nil
}

// Delete implements ports.SessionStore.
func (s *Sessions) Delete(_ context.Context, id domain.TokenDigest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	delete(s.tokens, id)
	return nil
}

// Ping implements ports.SessionStore.
func (s *Sessions) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Err
}

// Len returns the number of stored tokens, expired ones included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// SetErr makes every call fail with err (nil: work again).
func (s *Sessions) SetErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Err = err
}

// Count implements ports.SessionStore.
func (s *Sessions) Count(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens), s.Err
}

// DeleteAll implements ports.SessionStore.
func (s *Sessions) DeleteAll(_ context.Context, id domain.Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	for k, e := range s.tokens {
		if e.user == id {
			delete(s.tokens, k)
		}
	}
	return nil
}

// Users is a UserRepo in a map. Err, when set, is returned by every call.
type Users struct {
	mu    sync.Mutex
	users map[domain.Identity]domain.User
	next  int64
	Err   error
	// Writes counts the calls that changed something.
	Writes int
}

// NewUsers returns an empty repo.
func NewUsers() *Users { return &Users{users: map[domain.Identity]domain.User{}} }

// EnsureUser implements ports.UserRepo.
func (r *Users) EnsureUser(_ context.Context, id domain.Identity, unionID string, now time.Time) (domain.User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return domain.User{}, r.Err
	}
	unionID = domain.CleanID(unionID)
	u, ok := r.users[id]
	if !ok {
		r.next++
		now = now.UTC().Truncate(time.Microsecond)
		u = domain.User{ID: r.next, AppID: id.AppID, OpenID: id.OpenID, UnionID: unionID, CreatedAt: now, UpdatedAt: now, Revision: 1}
		r.Writes++
	} else if unionID != "" && u.UnionID != unionID {
		u.UnionID = unionID
		u.Revision++
		r.Writes++
	}
	r.users[id] = u
	return u, nil
}

// Get implements ports.UserRepo.
func (r *Users) Get(_ context.Context, id domain.Identity) (domain.User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return domain.User{}, r.Err
	}
	u, ok := r.users[id]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	return u, nil
}

// UpdateUser implements ports.UserRepo.
func (r *Users) UpdateUser(_ context.Context, id domain.Identity, update func(*domain.User) (bool, error)) (domain.User, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return domain.User{}, r.Err
	}
	u, ok := r.users[id]
	if !ok {
		return domain.User{}, domain.ErrNotFound
	}
	next := u
	changed, err := update(&next)
	if err != nil {
		return domain.User{}, err
	}
	if !changed {
		return u, nil
	}
	// Only what UpdateUser may write.
	u.Profile, u.UserSet, u.Avatar, u.Phone = next.Profile.Sanitized(), next.UserSet, next.Avatar, next.Phone
	u.UpdatedAt = next.UpdatedAt.UTC().Truncate(time.Microsecond)
	u.Revision++
	r.users[id] = u
	r.Writes++
	return u, nil
}

// ByPhone implements ports.UserRepo.
func (r *Users) ByPhone(_ context.Context, appID, pure string) ([]domain.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	var out []domain.Identity
	for id, u := range r.users {
		if id.AppID == appID && pure != "" && u.Phone.PureNumber == pure {
			out = append(out, id)
		}
	}
	return out, nil
}

// Delete implements ports.UserRepo.
func (r *Users) Delete(_ context.Context, id domain.Identity) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	if _, ok := r.users[id]; ok {
		delete(r.users, id)
		r.Writes++
	}
	return nil
}

// ByUnionID implements ports.UserRepo.
func (r *Users) ByUnionID(_ context.Context, unionID string) ([]domain.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	var out []domain.Identity
	for id, u := range r.users {
		if unionID != "" && u.UnionID == unionID {
			out = append(out, id)
		}
	}
	return out, nil
}

// AvatarsInUse implements ports.UserRepo.
func (r *Users) AvatarsInUse(_ context.Context, names []string) (map[string]bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return nil, r.Err
	}
	asked := make(map[string]bool, len(names))
	for _, n := range names {
		asked[n] = true
	}
	inUse := map[string]bool{}
	for _, u := range r.users {
		if u.Avatar != "" && asked[u.Avatar] {
			inUse[u.Avatar] = true
		}
	}
	return inUse, nil
}

// Ping implements ports.UserRepo.
func (r *Users) Ping(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Err
}

// SetErr makes every call fail with err (nil: work again).
func (r *Users) SetErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Err = err
}

// WriteCount returns how many calls changed something.
func (r *Users) WriteCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Writes
}

// WeChat answers login codes from a table. Calls counts exchanges per code.
type WeChat struct {
	App string

	mu    sync.Mutex
	codes map[string]codeAnswer
	calls map[string]int
	// Hook, when set, runs at the start of every exchange (to block or count).
	Hook func(code string)

	// The server API: access tokens issued and the one in force, phone
	// codes, and how the content check answers.
	tokens     int
	tokenCalls int
	current    string
	life       time.Duration
	tokenErr   error
	TokenHook  func(force bool) // runs at the start of every StableToken
	rejectAll  bool             // every API call answers 40001, whatever the token
	phones     map[string]domain.PhoneInfo
	Verdicts   map[string]domain.Verdict
	KeyValid   bool
	checkErr   error
	checks     int // CheckSession calls with a valid access token
}

type codeAnswer struct {
	session ports.WeChatSession
	err     error
}

// NewWeChat returns a fake for app with no codes.
func NewWeChat(app string) *WeChat {
	return &WeChat{App: app, codes: map[string]codeAnswer{}, calls: map[string]int{}}
}

// AddCode makes code log in openID with the session key keyB64 (and unionID).
// A code works once; a second exchange answers like WeChat's 40163.
func (w *WeChat) AddCode(code, openID, unionID, keyB64 string) {
	key, err := domain.ParseSessionKey(keyB64)
	if err != nil {
		panic(fmt.Sprintf("portfake: bad session key: %v", err))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codes[code] = codeAnswer{session: ports.WeChatSession{OpenID: openID, UnionID: unionID, SessionKey: key}}
}

// FailCode makes code fail with err.
func (w *WeChat) FailCode(code string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codes[code] = codeAnswer{err: err}
}

// Calls returns how many times code was exchanged.
func (w *WeChat) Calls(code string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[code]
}

// AppID implements ports.WeChat.
func (w *WeChat) AppID() string { return w.App }

// Code2Session implements ports.WeChat.
func (w *WeChat) Code2Session(_ context.Context, code string) (ports.WeChatSession, error) {
	if w.Hook != nil {
		w.Hook(code)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[code]++
	a, ok := w.codes[code]
	if !ok {
		return ports.WeChatSession{}, domain.Wrap(domain.KindBadCode, fmt.Errorf("errcode 40029"))
	}
	if a.err != nil {
		return ports.WeChatSession{}, a.err
	}
	if w.calls[code] > 1 {
		return ports.WeChatSession{}, domain.Wrap(domain.KindBadCode, fmt.Errorf("errcode 40163"))
	}
	return a.session, nil
}

// SetTokenLife sets how long issued access tokens live (default 2h).
func (w *WeChat) SetTokenLife(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.life = d
}

// FailTokens makes StableToken fail with err (nil: work again).
func (w *WeChat) FailTokens(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tokenErr = err
}

// InvalidateToken makes the token in force invalid, as another fetch of
// cgi-bin/token would: the next API call with it answers 40001, and
// StableToken's normal mode issues a new one.
func (w *WeChat) InvalidateToken() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.current = ""
}

// RejectEveryToken makes every API call answer 40001 (on) while normal-mode
// StableToken keeps answering the same token: only a forced refresh helps,
// and then calls work again.
func (w *WeChat) RejectEveryToken(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rejectAll = on
}

// TokensIssued returns how many access tokens StableToken handed out that
// were new (a normal-mode answer of the token in force is not new).
func (w *WeChat) TokensIssued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tokens
}

// TokenCalls returns how many times StableToken was called.
func (w *WeChat) TokenCalls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tokenCalls
}

// AddPhoneCode makes a getPhoneNumber code answer info, once.
func (w *WeChat) AddPhoneCode(code string, info domain.PhoneInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phones == nil {
		w.phones = map[string]domain.PhoneInfo{}
	}
	w.phones[code] = info
}

// StableToken implements ports.WeChat.
func (w *WeChat) StableToken(_ context.Context, force bool) (domain.AccessToken, time.Duration, error) {
	if w.TokenHook != nil {
		w.TokenHook(force)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tokenCalls++
	if w.tokenErr != nil {
		return domain.AccessToken{}, 0, w.tokenErr
	}
	if w.life == 0 {
		w.life = 2 * time.Hour
	}
	if w.current == "" || force {
		w.tokens++
		w.current = fmt.Sprintf("fake-token-%d", w.tokens)
		if force {
			w.rejectAll = false
		}
	}
	return domain.NewAccessToken(w.current), w.life, nil
}

// use checks a token an API call carries.
func (w *WeChat) use(t domain.AccessToken) error {
	if w.rejectAll || t.Reveal() != w.current || w.current == "" {
		return domain.Wrap(domain.KindUpstream, fmt.Errorf("errcode 40001: %w", ports.ErrAccessTokenRejected))
	}
	return nil
}

// PhoneNumber implements ports.WeChat.
func (w *WeChat) PhoneNumber(_ context.Context, t domain.AccessToken, code string) (domain.PhoneInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.use(t); err != nil {
		return domain.PhoneInfo{}, err
	}
	info, ok := w.phones[code]
	if !ok {
		return domain.PhoneInfo{}, domain.Wrap(domain.KindBadCode, fmt.Errorf("errcode 40029"))
	}
	delete(w.phones, code)
	return info, nil
}

// CheckSession implements ports.WeChat: KeyValid answers.
func (w *WeChat) CheckSession(_ context.Context, t domain.AccessToken, _ string, _ domain.SessionKey) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.use(t); err != nil {
		return false, err
	}
	w.checks++
	return w.KeyValid, w.checkErr
}

// SessionChecks returns how many times CheckSession was called with a
// valid access token (and so answered, or failed by FailChecks).
func (w *WeChat) SessionChecks() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checks
}

// CheckText implements ports.WeChat: Verdicts answers (pass by default).
func (w *WeChat) CheckText(_ context.Context, t domain.AccessToken, _, text string) (domain.Verdict, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.use(t); err != nil {
		return "", err
	}
	if w.checkErr != nil {
		return "", w.checkErr
	}
	if v, ok := w.Verdicts[text]; ok {
		return v, nil
	}
	return domain.VerdictPass, nil
}

// FailChecks makes CheckSession and CheckText fail with err.
func (w *WeChat) FailChecks(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checkErr = err
}

// Decrypter is a transparent stand-in for the AES decrypter: Seal wraps a
// payload with the key's text, and Decrypt opens only what was sealed under the
// same key, so tests can tell old keys from new without real cryptography.
type Decrypter struct{}

// IV is an iv the fake accepts.
const IV = "AAAAAAAAAAAAAAAAAAAAAA=="

// Seal returns plain "encrypted" under key.
func (Decrypter) Seal(key domain.SessionKey, plain string) string {
	return base64.StdEncoding.EncodeToString([]byte(key.Base64() + "|" + plain))
}

// DecryptUserInfo implements ports.Decrypter.
func (d Decrypter) DecryptUserInfo(key domain.SessionKey, encryptedData, iv string) (domain.UserInfo, error) {
	plain, err := d.Decrypt(key, encryptedData, iv)
	if err != nil {
		return domain.UserInfo{}, err
	}
	return domain.ParseUserInfo(plain)
}

// DecryptPhone implements ports.Decrypter.
func (d Decrypter) DecryptPhone(key domain.SessionKey, encryptedData, iv string) (domain.PhoneInfo, error) {
	plain, err := d.Decrypt(key, encryptedData, iv)
	if err != nil {
		return domain.PhoneInfo{}, err
	}
	return domain.ParsePhoneInfo(plain)
}

// Decrypt opens what Seal sealed under key.
func (Decrypter) Decrypt(key domain.SessionKey, encryptedData, iv string) ([]byte, error) {
	if iv != IV {
		return nil, domain.Malformed("iv", "must be 16 bytes of base64")
	}
	raw, err := base64.StdEncoding.DecodeString(encryptedData)
	if err != nil {
		return nil, domain.Malformed("encryptedData", "not base64")
	}
	prefix := key.Base64() + "|"
	if !strings.HasPrefix(string(raw), prefix) {
		return nil, domain.ErrUndecryptable
	}
	return raw[len(prefix):], nil
}

// Blobs is a BlobStore in a map. Err, when set, is returned by every call.
// Clock, when set, tells when a blob is stored (else the wall clock).
type Blobs struct {
	Clock ports.Clock

	mu     sync.Mutex
	blobs  map[string]ports.Blob
	stored map[string]time.Time
	Err    error
}

// NewBlobs returns an empty store.
func NewBlobs() *Blobs { return &Blobs{blobs: map[string]ports.Blob{}, stored: map[string]time.Time{}} }

// Put implements ports.BlobStore.
func (b *Blobs) Put(_ context.Context, name, contentType string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Err != nil {
		return b.Err
	}
	if _, ok := b.blobs[name]; ok {
		return nil
	}
	b.blobs[name] = ports.Blob{Data: append([]byte(nil), data...), ContentType: contentType}
	now := time.Now()
	if b.Clock != nil {
		now = b.Clock.Now()
	}
	b.stored[name] = now
	return nil
}

// Get implements ports.BlobStore.
func (b *Blobs) Get(_ context.Context, name string) (ports.Blob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Err != nil {
		return ports.Blob{}, b.Err
	}
	blob, ok := b.blobs[name]
	if !ok {
		return ports.Blob{}, domain.ErrNotFound
	}
	return blob, nil
}

// Delete implements ports.BlobStore.
func (b *Blobs) Delete(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Err != nil {
		return b.Err
	}
	delete(b.blobs, name)
	delete(b.stored, name)
	return nil
}

// List implements ports.BlobStore, on a copy taken at its start.
func (b *Blobs) List(_ context.Context) iter.Seq2[ports.BlobInfo, error] {
	return func(yield func(ports.BlobInfo, error) bool) {
		b.mu.Lock()
		err := b.Err
		infos := make([]ports.BlobInfo, 0, len(b.stored))
		for n, at := range b.stored {
			infos = append(infos, ports.BlobInfo{Name: n, StoredAt: at})
		}
		b.mu.Unlock()
		if err != nil {
			yield(ports.BlobInfo{}, err)
			return
		}
		for _, info := range infos {
			if !yield(info, nil) {
				return
			}
		}
	}
}

// URL implements ports.BlobStore.
func (b *Blobs) URL(_ context.Context, name string) (string, error) {
	return "https://blobs.example/" + name, nil
}

// Names returns the stored names.
func (b *Blobs) Names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for n := range b.blobs {
		out = append(out, n)
	}
	return out
}

// SetErr makes every call fail with err (nil: work again).
func (b *Blobs) SetErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Err = err
}

// Images is an ImageProcessor for tests: data starting with "IMG:" is an
// image, kept as it is; "BOMB:" is one too large; anything else is no image.
type Images struct{}

// Avatar implements ports.ImageProcessor.
func (Images) Avatar(_ context.Context, data []byte) (ports.Blob, string, error) {
	switch {
	case strings.HasPrefix(string(data), "IMG:"):
		return ports.Blob{Data: data, ContentType: "image/jpeg"}, ".jpg", nil
	case strings.HasPrefix(string(data), "BOMB:"):
		return ports.Blob{}, "", domain.Wrap(domain.KindTooLarge, fmt.Errorf("too many pixels"))
	}
	return ports.Blob{}, "", domain.Malformed("avatar", "not a JPEG, PNG, GIF or WebP image")
}

// TokenCache is a TokenCache in a map: tokens expire on its clock, locks
// on the real clock (locks guard real work).
type TokenCache struct {
	clock  ports.Clock
	mu     sync.Mutex
	tokens map[string]domain.CachedToken
	locks  map[string]tokenLock
	forced map[string]int
	Err    error
}

type tokenLock struct {
	id    int
	until time.Time
}

// NewTokenCache returns an empty cache on clock.
func NewTokenCache(clock ports.Clock) *TokenCache {
	return &TokenCache{clock: clock, tokens: map[string]domain.CachedToken{}, locks: map[string]tokenLock{}, forced: map[string]int{}}
}

// Get implements ports.TokenCache.
func (c *TokenCache) Get(_ context.Context, appID string) (domain.CachedToken, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Err != nil {
		return domain.CachedToken{}, false, c.Err
	}
	t, ok := c.tokens[appID]
	if ok && !c.clock.Now().Before(t.ExpiresAt) {
		delete(c.tokens, appID)
		return domain.CachedToken{}, false, nil
	}
	return t, ok, nil
}

// Put implements ports.TokenCache.
func (c *TokenCache) Put(_ context.Context, appID string, t domain.CachedToken) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Err != nil {
		return c.Err
	}
	c.tokens[appID] = t
	return nil
}

// Drop implements ports.TokenCache.
func (c *TokenCache) Drop(_ context.Context, appID string, rejected domain.AccessToken) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Err != nil {
		return c.Err
	}
	if t, ok := c.tokens[appID]; ok && t.Token == rejected {
		delete(c.tokens, appID)
	}
	return nil
}

var lockIDs atomic.Int64

// Lock implements ports.TokenCache.
func (c *TokenCache) Lock(_ context.Context, appID string, ttl time.Duration) (func(), bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Err != nil {
		return nil, false, c.Err
	}
	if l, ok := c.locks[appID]; ok && time.Now().Before(l.until) {
		return nil, false, nil
	}
	id := int(lockIDs.Add(1))
	c.locks[appID] = tokenLock{id: id, until: time.Now().Add(ttl)}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l, ok := c.locks[appID]; ok && l.id == id {
			delete(c.locks, appID)
		}
	}, true, nil
}

// CountForceRefresh implements ports.TokenCache.
func (c *TokenCache) CountForceRefresh(_ context.Context, appID, day string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Err != nil {
		return 0, c.Err
	}
	c.forced[appID+"|"+day]++
	return c.forced[appID+"|"+day], nil
}

// Every fake is its port.
var (
	_ ports.Clock          = (*Clock)(nil)
	_ ports.TokenSource    = (*Tokens)(nil)
	_ ports.SessionStore   = (*Sessions)(nil)
	_ ports.UserRepo       = (*Users)(nil)
	_ ports.WeChat         = (*WeChat)(nil)
	_ ports.Decrypter      = Decrypter{}
	_ ports.BlobStore      = (*Blobs)(nil)
	_ ports.ImageProcessor = Images{}
	_ ports.TokenCache     = (*TokenCache)(nil)
)
