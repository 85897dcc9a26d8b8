// Package portfake has in-memory fakes of every port, for tests of the core
// that need no disk, network or clock. The fakes pass the same contract suites
// (ports/porttest) as the real adapters, so tests that use them test the truth.
package portfake

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
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
		u = domain.User{ID: r.next, AppID: id.AppID, OpenID: id.OpenID, UnionID: unionID, CreatedAt: now, UpdatedAt: now}
		r.Writes++
	} else if unionID != "" && u.UnionID != unionID {
		u.UnionID = unionID
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
	u.Profile, u.UserSet, u.Avatar = next.Profile.Sanitized(), next.UserSet, next.Avatar
	u.UpdatedAt = next.UpdatedAt.UTC().Truncate(time.Microsecond)
	r.users[id] = u
	r.Writes++
	return u, nil
}

// AvatarInUse implements ports.UserRepo.
func (r *Users) AvatarInUse(_ context.Context, name string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return false, r.Err
	}
	for _, u := range r.users {
		if u.Avatar == name {
			return true, nil
		}
	}
	return false, nil
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
type Blobs struct {
	mu    sync.Mutex
	blobs map[string]ports.Blob
	Err   error
}

// NewBlobs returns an empty store.
func NewBlobs() *Blobs { return &Blobs{blobs: map[string]ports.Blob{}} }

// Put implements ports.BlobStore.
func (b *Blobs) Put(_ context.Context, name, contentType string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Err != nil {
		return b.Err
	}
	b.blobs[name] = ports.Blob{Data: append([]byte(nil), data...), ContentType: contentType}
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
	return nil
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
func (Images) Avatar(data []byte) (ports.Blob, string, error) {
	switch {
	case strings.HasPrefix(string(data), "IMG:"):
		return ports.Blob{Data: data, ContentType: "image/jpeg"}, ".jpg", nil
	case strings.HasPrefix(string(data), "BOMB:"):
		return ports.Blob{}, "", domain.Wrap(domain.KindTooLarge, fmt.Errorf("too many pixels"))
	}
	return ports.Blob{}, "", domain.Malformed("avatar", "not a JPEG, PNG, GIF or WebP image")
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
)
