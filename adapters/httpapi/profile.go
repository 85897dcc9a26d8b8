package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/text/unicode/norm"

	"wxbackend/app"
	"wxbackend/domain"
)

// Body parameters of the profile routes.
var profileFields = []string{"nickName", "gender", "language", "city", "province", "country", "token"}

// editProfile is POST /api/v1/me/profile: the fields sent are set, others
// kept. Text is NFC-normalized as it enters, so one name has one spelling.
func (h *handler) editProfile(w http.ResponseWriter, r *http.Request) {
	f, a, err := h.readAuthed(r, profileFields...)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	var in domain.ProfileInput
	text := func(name string) *string {
		v, ok := f.lookup(name)
		if !ok {
			return nil
		}
		v = norm.NFC.String(v)
		return &v
	}
	in.NickName, in.Language, in.City, in.Province, in.Country = text("nickName"), text("language"), text("city"), text("province"), text("country")
	if v, ok := f.lookup("gender"); ok {
		g, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, r, h.log, domain.Malformed("gender", "must be 0 (unknown), 1 or 2"))
			return
		}
		in.Gender = &g
	}
	u, err := h.app.EditProfile.Handle(r.Context(), a.Session, in)
	h.replyUser(w, r, u, err)
}

// multipartSlack is what a wx.uploadFile body holds besides the file: part
// headers, boundaries and a few form fields.
const multipartSlack = 16 << 10

// tokenPrefix is how far into an upload without an Authorization header its
// "token" field may end: a client that sends the token in the body sends it
// before the image, and nothing more of the body is read until it is checked.
const tokenPrefix = 4 << 10

// maxTokenField bounds the "token" field of an upload.
const maxTokenField = 256

// uploadWait is how long an upload waits for a free slot (Options.
// AvatarMaxUploads) before it is refused as rate limited.
const uploadWait = time.Second

// uploadsPerUser bounds the avatar uploads one user (a session's identity,
// whichever of its tokens it uses) has in flight: one user holding every
// server slot (AvatarMaxUploads) with stalled bodies would otherwise refuse
// everyone else's upload. One more is code 7 at once.
const uploadsPerUser = 2

var errTokenNotInPrefix = domain.Wrap(domain.KindUnauthenticated,
	errors.New("an upload without an Authorization header must send its token field first, within the first 4 KiB"))

// uploadAvatar is POST /api/v1/me/avatar, as wx.uploadFile sends it:
// multipart/form-data with the image in the part named "avatar" or "file"
// and the token in the Authorization header (checked before the body is
// read) or in a "token" field before the image, within the first 4 KiB of
// the body. The image is read, once the request is authenticated and holds
// one of the server's upload slots, into a buffer sized from the limit (or
// the smaller Content-Length) and never past it: nothing is written to disk
// before the image is checked.
func (h *handler) uploadAvatar(w http.ResponseWriter, r *http.Request) {
	image, a, release, err := h.readAvatarUpload(w, r)
	defer release()
	if err != nil {
		// What the client still sends is not read: the connection goes.
		w.Header().Set("Connection", "close")
		writeError(w, r, h.log, err)
		return
	}
	u, err := h.app.SetAvatar.Handle(r.Context(), a.Session, image)
	h.replyUser(w, r, u, err)
}

// readAvatarUpload reads the image and authenticates the upload. The
// returned release frees the upload slot it holds (it is never nil).
func (h *handler) readAvatarUpload(w http.ResponseWriter, r *http.Request) (image []byte, a app.Authenticated, release func(), err error) {
	release = func() {}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, a, release, errUnsupportedMedia
	}
	limit := h.opts.AvatarMaxBytes
	if r.ContentLength > limit+multipartSlack {
		return nil, a, release, errTooLarge
	}
	a, authed := r.Context().Value(authKey{}).(app.Authenticated)
	byHeader := authed
	// Until the request is authenticated, no more than tokenPrefix bytes of
	// the body are read.
	gate := &prefixGate{r: r.Body, left: tokenPrefix, open: authed}
	body := http.MaxBytesReader(w, io.NopCloser(gate), limit+multipartSlack)
	mr := multipart.NewReader(body, params["boundary"])
	failed := func(err error) error {
		if gate.tripped {
			return errTokenNotInPrefix
		}
		return bodyErr(err)
	}
	var f fields
	for {
		part, err := mr.NextPart()
		if err == io.EOF { // the final boundary; a truncated body is an error wrapping io.EOF
			break
		}
		if err != nil {
			return nil, a, release, failed(err)
		}
		switch name := part.FormName(); {
		case name == "avatar" || name == "file":
			if !authed {
				return nil, a, release, errTokenNotInPrefix
			}
			if image != nil {
				return nil, a, release, domain.Malformed(name, "send one image")
			}
			if release, err = h.uploadSlot(r.Context(), a.Session.Identity()); err != nil {
				return nil, a, func() {}, err
			}
			if image, err = readPart(part, limit, r.ContentLength); err != nil {
				return nil, a, release, err
			}
		case name == "token":
			if _, dup := f.lookup("token"); dup {
				return nil, a, release, domain.Malformed("token", "given twice")
			}
			v, err := readPart(part, maxTokenField, maxTokenField)
			if err != nil {
				if gate.tripped {
					return nil, a, release, errTokenNotInPrefix
				}
				if errors.Is(err, errBodyTimeout) {
					return nil, a, release, err
				}
				return nil, a, release, domain.Malformed("token", "too long")
			}
			f = f.with("token", strings.TrimSpace(string(v)))
			if !authed {
				if a, err = h.authOf(r, f); err != nil {
					return nil, a, release, err
				}
				authed, gate.open = true, true
			}
		default:
			if _, err := io.Copy(io.Discard, part); err != nil { // bounded by the gate, then by the body's cap
				return nil, a, release, failed(err)
			}
		}
	}
	if !authed || byHeader {
		// No token at all (code 2), or the header's, which a body token
		// after the image must name too.
		if a, err = h.authOf(r, f); err != nil {
			return nil, a, release, err
		}
	}
	if len(image) == 0 {
		return nil, a, release, domain.Missing("avatar")
	}
	return image, a, release, nil
}

// uploadSlot takes one of the user's uploadsPerUser slots (refused
// as rate limited at once when it has none left), then one of the
// AvatarMaxUploads slots of uploads read at once, waiting up to uploadWait,
// or less when the request ends first: then it is rate limited. The
// returned release frees both.
func (h *handler) uploadSlot(ctx context.Context, user domain.Identity) (func(), error) {
	if !h.userUploads.take(user) {
		return nil, domain.RateLimited(time.Second)
	}
	mine := func() { h.userUploads.done(user) }
	if h.uploads == nil {
		return mine, nil
	}
	select {
	case h.uploads <- struct{}{}:
		return func() { <-h.uploads; mine() }, nil
	default:
	}
	t := time.NewTimer(uploadWait)
	defer t.Stop()
	select {
	case h.uploads <- struct{}{}:
		return func() { <-h.uploads; mine() }, nil
	case <-t.C:
		mine()
		return nil, domain.RateLimited(time.Second)
	case <-ctx.Done():
		mine()
		return nil, domain.Wrap(domain.KindRateLimited, ctx.Err())
	}
}

// inFlight counts the uploads in flight per user; a user's entry goes when
// its count drops to 0, so the map holds no more entries than uploads in
// flight.
type inFlight struct {
	mu  sync.Mutex
	n   map[domain.Identity]int
	max int
}

// take counts one more upload of the user, unless it has max already.
func (f *inFlight) take(key domain.Identity) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= f.max {
		return false
	}
	if f.n == nil {
		f.n = make(map[domain.Identity]int)
	}
	f.n[key]++
	return true
}

// done counts one upload of the user less.
func (f *inFlight) done(key domain.Identity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key]--; f.n[key] <= 0 {
		delete(f.n, key)
	}
}

// len is how many users have uploads in flight.
func (f *inFlight) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.n)
}

// prefixGate lets through only the first left bytes of a body until it is
// opened (the request is authenticated); reading further trips it.
type prefixGate struct {
	r       io.Reader
	left    int
	open    bool
	tripped bool
}

func (g *prefixGate) Read(p []byte) (int, error) {
	if g.open {
		return g.r.Read(p)
	}
	if g.left == 0 {
		g.tripped = true
		return 0, errTokenNotInPrefix
	}
	if len(p) > g.left {
		p = p[:g.left]
	}
	n, err := g.r.Read(p)
	g.left -= n
	return n, err
}

// readPart reads a part whole into one buffer of max bytes, or of hint
// bytes when that is smaller (the body's Content-Length, which holds the
// part), unless it holds more than max bytes: then it is too large, and no
// more of it is read.
func readPart(r io.Reader, max, hint int64) ([]byte, error) {
	size := max
	if hint > 0 && hint < size {
		size = hint
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return buf[:n], nil
	case err != nil:
		return nil, bodyErr(err)
	}
	var one [1]byte
	m, err := io.ReadFull(r, one[:])
	switch {
	case m == 0 && errors.Is(err, io.EOF):
		return buf, nil
	case m == 0:
		return nil, bodyErr(err)
	case size == max:
		return nil, errTooLarge
	default: // longer than the Content-Length it came in
		return nil, domain.Malformed("body", "longer than its Content-Length")
	}
}

// bodyErr is a failure to read the body: over the cap, past the read
// timeout, or malformed.
func bodyErr(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge
	}
	if err := readErr(err); err == errBodyTimeout {
		return err
	}
	return domain.Malformed("body", "not a readable multipart form")
}

// avatar is GET /media/avatars/{name}: a stored avatar, when this server
// serves them. Names are content-addressed, so the name is a strong ETag
// and the image never changes: clients and proxies may keep it for a year.
func (h *handler) avatar(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	blob, err := h.app.Avatar.Handle(r.Context(), name)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			err = errNoRoute
		}
		writeError(w, r, h.log, err)
		return
	}
	etag := `"` + strings.TrimSuffix(name, ".jpg") + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*" || strings.Contains(match, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", blob.ContentType)
	hd.Set("Content-Length", strconv.Itoa(len(blob.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(blob.Data)
	}
}
