package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

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
		v, ok := f[name]
		if !ok {
			return nil
		}
		v = norm.NFC.String(v)
		return &v
	}
	in.NickName, in.Language, in.City, in.Province, in.Country = text("nickName"), text("language"), text("city"), text("province"), text("country")
	if v, ok := f["gender"]; ok {
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

// uploadAvatar is POST /api/v1/me/avatar, as wx.uploadFile sends it:
// multipart/form-data with the image in the part named "avatar" or "file"
// and the token in the Authorization header (checked before the body is
// read) or a "token" field. The body is read as it streams, into memory and
// never past its cap: nothing is written to disk before the image is checked.
func (h *handler) uploadAvatar(w http.ResponseWriter, r *http.Request) {
	image, a, err := h.readAvatarUpload(w, r)
	if err != nil {
		writeError(w, r, h.log, err)
		return
	}
	u, err := h.app.SetAvatar.Handle(r.Context(), a.Session, image)
	h.replyUser(w, r, u, err)
}

func (h *handler) readAvatarUpload(w http.ResponseWriter, r *http.Request) ([]byte, app.Authenticated, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, app.Authenticated{}, errUnsupportedMedia
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.AvatarMaxBytes+multipartSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, app.Authenticated{}, domain.Malformed("body", "not a multipart form")
	}
	var image []byte
	f := fields{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, app.Authenticated{}, bodyErr(err)
		}
		switch name := part.FormName(); {
		case name == "avatar" || name == "file":
			if image != nil {
				return nil, app.Authenticated{}, domain.Malformed(name, "send one image")
			}
			if image, err = readCapped(part, h.opts.AvatarMaxBytes); err != nil {
				return nil, app.Authenticated{}, err
			}
			if image == nil {
				image = []byte{}
			}
		case name == "token":
			if _, dup := f["token"]; dup {
				return nil, app.Authenticated{}, domain.Malformed("token", "given twice")
			}
			v, err := readCapped(part, 256)
			if err != nil {
				return nil, app.Authenticated{}, domain.Malformed("token", "too long")
			}
			f["token"] = strings.TrimSpace(string(v))
		default:
			if _, err := io.Copy(io.Discard, part); err != nil { // bounded by the body's cap
				return nil, app.Authenticated{}, bodyErr(err)
			}
		}
	}
	a, err := h.authOf(r, f)
	if err != nil {
		return nil, app.Authenticated{}, err
	}
	if len(image) == 0 {
		return nil, app.Authenticated{}, domain.Missing("avatar")
	}
	return image, a, nil
}

// readCapped reads r whole unless it holds more than max bytes.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, bodyErr(err)
	}
	if n > max {
		return nil, errTooLarge
	}
	return b.Bytes(), nil
}

// bodyErr is a failure to read the body: over the cap, or malformed.
func bodyErr(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errTooLarge
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
