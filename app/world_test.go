package app_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"wxbackend/adapters/aescbc"
	"wxbackend/adapters/imaging"
	"wxbackend/adapters/localfs"
	"wxbackend/adapters/memory"
	"wxbackend/app"
	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
	"wxbackend/ports/portfake"
)

const (
	appID = "wx4f4bc4dec97d474b"
	key1  = "tiihtNczf5v6AKRyjwEUhQ=="
	key2  = "HyVFkGl5F5OQWJZZaNzBBg=="
)

// world is the use cases on the real in-memory adapters (memory session
// store and token cache, the AES-CBC decrypter, a local blob store in a
// temporary directory, the image processor), with fakes only where there is
// no in-memory adapter or a store must fail on demand: WeChat, and the user
// repository (portfake's, which also counts writes).
type world struct {
	svc      edge
	clock    *portfake.Clock
	sessions *memory.SessionStore
	users    *portfake.Users
	wechat   *portfake.WeChat
	blobDir  string
}

// worldOption changes the dependencies of a test world.
type worldOption func(*app.Deps)

// withTokenCache makes the world share an access-token cache (another
// server's, say).
func withTokenCache(c ports.TokenCache) worldOption {
	return func(d *app.Deps) { d.AccessTokens = c }
}

// withWeChat makes the world use a WeChat shared with other worlds.
func withWeChat(wc *portfake.WeChat) worldOption {
	return func(d *app.Deps) { d.Apps = []ports.WeChat{wc} }
}

// withLog sends the service's log to buf, as text.
func withLog(buf *bytes.Buffer) worldOption {
	return func(d *app.Deps) { d.Log = slog.New(slog.NewTextHandler(buf, nil)) }
}

// withSessions puts the sessions in s (one that fails on demand, say).
func withSessions(s ports.SessionStore) worldOption {
	return func(d *app.Deps) { d.Sessions = s }
}

// withBlobs keeps avatars in b (one that fails on demand, say).
func withBlobs(b ports.BlobStore) worldOption {
	return func(d *app.Deps) { d.Blobs = b }
}

// withUsers keeps users in r (a real database, say) instead of the fake.
func withUsers(r ports.UserRepo) worldOption {
	return func(d *app.Deps) { d.Users = r }
}

func newWorld(t *testing.T, o app.Options, opts ...worldOption) *world {
	t.Helper()
	w := &world{clock: portfake.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)), users: portfake.NewUsers(),
		wechat: portfake.NewWeChat(appID), blobDir: t.TempDir()}
	w.sessions = memory.NewSessionStore(memory.Options{CleanupInterval: time.Hour}, 0, 0, w.clock)
	if o.SessionTTL == 0 {
		o.SessionTTL = time.Hour
	}
	blobs, err := localfs.New(localfs.Options{Dir: w.blobDir, PublicURL: blobURL})
	if err != nil {
		t.Fatal(err)
	}
	var images imaging.Options
	setting.Defaults(&images)
	deps := app.Deps{Sessions: w.sessions, Users: w.users, Decrypter: aescbc.NewDecrypter(), Apps: []ports.WeChat{w.wechat},
		Clock: w.clock, Tokens: &portfake.Tokens{}, Blobs: blobs, Images: imaging.New(images),
		AccessTokens: memory.NewTokenCache(w.clock)}
	for _, opt := range opts {
		opt(&deps)
	}
	if wc, ok := deps.Apps[0].(*portfake.WeChat); ok {
		w.wechat = wc
	}
	a, err := app.New(deps, o)
	if err != nil {
		t.Fatal(err)
	}
	w.svc = edge{a}
	return w
}

// blobURL is where the world's avatars are served.
const blobURL = "https://blobs.example"

// blobNames returns the names of the avatars stored.
func (w *world) blobNames(t *testing.T) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(w.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && domain.ValidBlobName(d.Name()) {
			names = append(names, d.Name())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// sessionCount returns how many sessions the store holds.
func (w *world) sessionCount(t *testing.T) int {
	t.Helper()
	n, err := w.sessions.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// iv is the iv every test payload is sealed with.
const iv = "AAAAAAAAAAAAAAAAAAAAAA=="

// seal encrypts plain under the session key keyB64, as WeChat does.
func seal(t *testing.T, keyB64, plain string) string {
	t.Helper()
	out, err := aescbc.Encrypt(mustKey(t, keyB64), [16]byte{}, []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// picture returns a small PNG of one colour, a distinct image per shade.
func picture(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.RGBA{R: shade, G: 255 - shade, B: shade / 2, A: 255}}, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (w *world) login(t *testing.T, code, openID, keyB64 string) string {
	t.Helper()
	w.wechat.AddCode(code, openID, "", keyB64)
	res, err := w.svc.Login(context.Background(), "", code, phone)
	if err != nil {
		t.Fatal(err)
	}
	return res.Token.Reveal()
}

func (w *world) payload(t *testing.T, keyB64, openID, nick string) app.EncryptedUserInfo {
	t.Helper()
	return w.payloadWithUnion(t, keyB64, openID, nick, "oUnion")
}

// sealed seals a getUserInfo payload of the session's user (openID) with
// the given profile JSON fields.
func (w *world) sealed(t *testing.T, keyB64, openID, fields string) app.EncryptedUserInfo {
	t.Helper()
	plain := fmt.Sprintf(`{"openId":%q,%s,"watermark":{"appid":%q,"timestamp":%d}}`, openID, fields, appID, w.clock.Now().Unix())
	return app.EncryptedUserInfo{EncryptedData: seal(t, keyB64, plain), IV: iv}
}

// payloadWithUnion seals a getUserInfo payload whose unionId the user chose.
func (w *world) payloadWithUnion(t *testing.T, keyB64, openID, nick, unionID string) app.EncryptedUserInfo {
	t.Helper()
	plain := fmt.Sprintf(`{"openId":%q,"nickName":%q,"gender":1,"city":"广州","unionId":%q,"watermark":{"appid":%q,"timestamp":%d}}`,
		openID, nick, unionID, appID, w.clock.Now().Unix())
	return app.EncryptedUserInfo{EncryptedData: seal(t, keyB64, plain), IV: iv}
}

// phone and laptop are two clients, as the HTTP adapter tells them apart.
var (
	phone  = app.ClientOf("203.0.113.7", "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50")
	laptop = app.ClientOf("198.51.100.9", "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50")
)

func wantKind(t *testing.T, err error, k domain.Kind) {
	t.Helper()
	if domain.KindOf(err) != k || err == nil {
		t.Fatalf("got %v (kind %v), want kind %v", err, domain.KindOf(err), k)
	}
}

const greyAvatar = "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132"

func ptr(s string) *string { return &s }

func intPtr(n int) *int { return &n }

func mustKey(t *testing.T, b64 string) domain.SessionKey {
	t.Helper()
	k, err := domain.ParseSessionKey(b64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
