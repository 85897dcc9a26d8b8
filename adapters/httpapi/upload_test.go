package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxbackend/adapters/httpapi"
)

// Tests of how avatar uploads are read (profile.go): nothing past a small
// prefix before the token is checked, the image into one buffer no larger
// than the limit, and a bounded number at once.

const uploadBoundary = "wxbackendtestboundary"

// field is a form field of a streamed upload.
type field struct{ name, value string }

// streamedUpload is a multipart body made as it is read, as wx.uploadFile
// sends one: the fields before the file, the file's part (its bytes read
// from file), and the fields after. It returns the body and its length,
// given fileSize, the length of file.
func streamedUpload(before []field, file io.Reader, fileSize int64, after []field) (io.Reader, int64) {
	var head, tail strings.Builder
	for _, f := range before {
		fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", uploadBoundary, f.name, f.value)
	}
	fmt.Fprintf(&head, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tmp_avatar.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n", uploadBoundary)
	tail.WriteString("\r\n")
	for _, f := range after {
		fmt.Fprintf(&tail, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", uploadBoundary, f.name, f.value)
	}
	fmt.Fprintf(&tail, "--%s--\r\n", uploadBoundary)
	return io.MultiReader(strings.NewReader(head.String()), file, strings.NewReader(tail.String())),
		int64(head.Len()) + fileSize + int64(tail.Len())
}

// zeros is an endless source of zero bytes: a large file that takes no
// memory to send.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// counted counts the bytes read from a body.
type counted struct {
	r io.Reader
	n *atomic.Int64
}

func (c counted) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// uploadResult is the answer to a raw upload: its code and HTTP status.
type uploadResult struct{ code, status int }

// postUpload sends body to the avatar route of h; length < 0 is a body of
// unknown length (chunked).
func postUpload(ctx context.Context, h http.Handler, body io.Reader, length int64, header ...string) uploadResult {
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/v1/me/avatar", body)
	req.ContentLength = length
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+uploadBoundary)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env struct{ Code int }
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		return uploadResult{-1, rec.Code}
	}
	return uploadResult{env.Code, rec.Code}
}

// heapGrowth runs f and returns how many bytes it allocated (TotalAlloc:
// the heap it made, whether or not it was freed since, so a measure that
// does not depend on when the collector ran).
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// 100 uploads of 2 MiB at once without a token before the image (none at
// all, a valid one after the image, one beyond the first 4 KiB) are each
// code 2 after at most 4 KiB of their bodies, and together make a few
// hundred KB of heap, not a buffer each.
func TestUploadAvatar_UnauthenticatedBodiesAreNotRead(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	h := newRouterWith(t, f.app, discardLog(), httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		AvatarMaxBytes: 2 << 20, AvatarMaxUploads: 16}, f.clock, httpapi.Limits{})
	const clients, size = 100, 2<<20 - 1024
	junk := strings.Repeat("j", 5000)
	shapes := []struct {
		name          string
		before, after []field
	}{
		{"no token", nil, nil},
		{"token after the image", nil, []field{{"token", tok}}},
		{"token beyond the first 4 KiB", []field{{"note", junk}, {"token", tok}}, nil},
	}
	var (
		read    [clients]atomic.Int64
		results [clients]uploadResult
		wg      sync.WaitGroup
	)
	grew := heapGrowth(func() {
		for i := range clients {
			s := shapes[i%len(shapes)]
			body, n := streamedUpload(s.before, io.LimitReader(zeros{}, size), size, s.after)
			wg.Go(func() {
				results[i] = postUpload(t.Context(), h, counted{body, &read[i]}, n)
			})
		}
		wg.Wait()
	})
	var most int64
	for i := range clients {
		if results[i] != (uploadResult{2, 401}) {
			t.Errorf("%s: code %d HTTP %d, want code 2 HTTP 401", shapes[i%len(shapes)].name, results[i].code, results[i].status)
		}
		most = max(most, read[i].Load())
	}
	t.Logf("%d unauthenticated uploads of %d bytes: at most %d bytes of a body read, %d KB allocated in all", clients, size, most, grew>>10)
	if most > 4096 {
		t.Errorf("%d bytes of an unauthenticated body read, want at most 4096", most)
	}
	if grew > 8<<20 {
		t.Errorf("%d unauthenticated uploads allocated %d MB", clients, grew>>20)
	}
	// A bad header token: not a byte read.
	var n atomic.Int64
	body, length := streamedUpload([]field{{"token", tok}}, io.LimitReader(zeros{}, size), size, nil)
	if r := postUpload(t.Context(), h, counted{body, &n}, length, "Authorization", "Bearer "+strings.Repeat("A", 43)); r.code != 2 || n.Load() != 0 {
		t.Errorf("bad header token: code %d after %d bytes, want code 2 after none", r.code, n.Load())
	}
}

// An upload over the limit is code 11 at once when its Content-Length says
// so, and otherwise once the image passes the limit, having read no more and
// allocated one buffer of the limit.
func TestUploadAvatar_OverTheLimitIsReadNoFurther(t *testing.T) {
	f := newFixture(t, nil) // the fixture's limit: 256 KiB
	tok := f.login(t, "c1")
	const limit = 256 << 10
	bearer := []string{"Authorization", "Bearer " + tok}

	var n atomic.Int64
	body, length := streamedUpload(nil, io.LimitReader(zeros{}, 8<<20), 8<<20, nil)
	if r := postUpload(t.Context(), f.h, counted{body, &n}, length, bearer...); r != (uploadResult{11, 413}) || n.Load() != 0 {
		t.Errorf("declared 8 MiB: code %d HTTP %d after %d bytes, want code 11 HTTP 413 after none", r.code, r.status, n.Load())
	}

	n.Store(0)
	body, _ = streamedUpload(nil, io.LimitReader(zeros{}, 3<<20), 3<<20, nil)
	var r uploadResult
	grew := heapGrowth(func() { r = postUpload(t.Context(), f.h, counted{body, &n}, -1, bearer...) })
	t.Logf("3 MiB of unknown length over a %d KiB limit: %d bytes read, %d KB allocated", limit>>10, n.Load(), grew>>10)
	if r != (uploadResult{11, 413}) {
		t.Errorf("3 MiB of unknown length: code %d HTTP %d, want code 11 HTTP 413", r.code, r.status)
	}
	if n.Load() > limit+16<<10 {
		t.Errorf("%d bytes read, want at most the limit and 16 KiB", n.Load())
	}
	if grew > limit+limit/2 {
		t.Errorf("%d KB allocated to refuse an upload over a %d KB limit", grew>>10, limit>>10)
	}
}

// stall is a reader that, once reached, tells reached and then waits for
// go before it ends.
type stall struct {
	once    sync.Once
	reached chan struct{}
	goOn    <-chan struct{}
}

func (s *stall) Read([]byte) (int, error) {
	s.once.Do(func() { close(s.reached) })
	<-s.goOn
	return 0, io.EOF
}

// stalledUpload starts an upload of img on h that stalls after its first
// 16 bytes until goOn is closed, and waits until it either reaches the
// stall (it holds its slots) or is answered. Its answer comes on the
// returned channel.
func stalledUpload(t *testing.T, h http.Handler, img []byte, goOn <-chan struct{}, header ...string) <-chan uploadResult {
	t.Helper()
	s := &stall{reached: make(chan struct{}), goOn: goOn}
	body, n := streamedUpload(nil, io.MultiReader(strings.NewReader(string(img[:16])), s, strings.NewReader(string(img[16:]))), int64(len(img)), nil)
	done := make(chan uploadResult, 1)
	go func() { done <- postUpload(t.Context(), h, body, n, header...) }()
	select {
	case <-s.reached:
	case r := <-done:
		done <- r
	case <-time.After(10 * time.Second):
		t.Fatal("an upload neither started reading its image nor was answered")
	}
	return done
}

// loginAs logs openID in with a fresh code and returns its Authorization
// header.
func (f *fixture) loginAs(t *testing.T, code, openID string) []string {
	t.Helper()
	f.wechat.AddCode(code, openID, "", key1)
	r := f.do(t, "POST", "/login/", map[string]any{"code": code})
	want(t, r, 0, 200)
	var d struct{ Token string }
	_ = json.Unmarshal(r.Data, &d)
	return []string{"Authorization", "Bearer " + d.Token}
}

// With two upload slots, two uploads (of two users) held open mid-image
// keep a third user's waiting until it is refused with code 7 (at once
// when its client gives up); once they finish, uploads are read again.
func TestUploadAvatar_ConcurrentUploadsAreBounded(t *testing.T) {
	f := newFixture(t, nil)
	bearer := func(code string) []string { return f.loginAs(t, code, "o-"+code) }
	h := newRouterWith(t, f.app, discardLog(), httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		AvatarMaxBytes: 256 << 10, AvatarMaxUploads: 2}, f.clock, httpapi.Limits{})
	img := pngOf(t, 20, 20)
	upload := func() (io.Reader, int64) {
		return streamedUpload(nil, strings.NewReader(string(img)), int64(len(img)), nil)
	}

	goOn := make(chan struct{})
	held := []<-chan uploadResult{
		stalledUpload(t, h, img, goOn, bearer("c1")...),
		stalledUpload(t, h, img, goOn, bearer("c2")...),
	}

	third := bearer("c3")
	body, n := upload()
	if r := postUpload(t.Context(), h, body, n, third...); r != (uploadResult{7, 429}) {
		t.Errorf("a third upload: code %d HTTP %d, want code 7 HTTP 429", r.code, r.status)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	body, n = upload()
	if r := postUpload(ctx, h, body, n, third...); r.code != 7 {
		t.Errorf("a third upload whose client left: code %d, want 7", r.code)
	}

	close(goOn)
	for i, c := range held {
		if r := <-c; r != (uploadResult{0, 200}) {
			t.Errorf("held upload %d: code %d HTTP %d, want 0", i, r.code, r.status)
		}
	}
	body, n = upload()
	if r := postUpload(t.Context(), h, body, n, third...); r != (uploadResult{0, 200}) {
		t.Errorf("an upload after the others: code %d HTTP %d, want 0", r.code, r.status)
	}
}

// One user cannot take every upload slot: of 17 uploads one session holds
// open mid-image against 16 slots, two are read and the rest are code 7 at
// once, as is one more from another session of the same user, and another
// user's upload still goes through.
func TestUploadAvatar_OneUserCannotTakeEverySlot(t *testing.T) {
	f := newFixture(t, nil)
	attacker := f.loginAs(t, "c1", "o-attacker")
	again := f.loginAs(t, "c2", "o-attacker")
	honest := f.loginAs(t, "c3", "o-honest")
	h := newRouterWith(t, f.app, discardLog(), httpapi.Options{MaxBodyBytes: 4096, ReadyTimeout: time.Second,
		AvatarMaxBytes: 256 << 10, AvatarMaxUploads: 16}, f.clock, httpapi.Limits{})
	img := pngOf(t, 20, 20)

	goOn := make(chan struct{})
	var stalled []<-chan uploadResult
	for range 17 {
		stalled = append(stalled, stalledUpload(t, h, img, goOn, attacker...))
	}
	body, n := streamedUpload(nil, strings.NewReader(string(img)), int64(len(img)), nil)
	if r := postUpload(t.Context(), h, body, n, again...); r != (uploadResult{7, 429}) {
		t.Errorf("the same user's upload with another token: code %d HTTP %d, want code 7 HTTP 429", r.code, r.status)
	}
	body, n = streamedUpload(nil, strings.NewReader(string(img)), int64(len(img)), nil)
	if r := postUpload(t.Context(), h, body, n, honest...); r != (uploadResult{0, 200}) {
		t.Errorf("another user's upload beside 17 stalled ones: code %d HTTP %d, want 0", r.code, r.status)
	}
	close(goOn)
	counts := map[uploadResult]int{}
	for _, c := range stalled {
		counts[<-c]++
	}
	if counts[uploadResult{0, 200}] != 2 || counts[uploadResult{7, 429}] != 15 {
		t.Errorf("17 uploads of one user: %v, want 2 read (code 0) and 15 refused (code 7)", counts)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
