package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/imaging/imagingtest"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

func TestEditProfile_JSONAndFormSetOnlyWhatIsSent(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	bearer := []string{"Authorization", "Bearer " + tok}
	// "e" + combining acute, as some keyboards send it: stored composed (NFC).
	r := f.do(t, "POST", "/api/v1/me/profile", map[string]any{"nickName": " Rene\u0301 🐼\u202e ", "gender": 1}, bearer...)
	want(t, r, 0, 200)
	var p apiclient.Profile
	if err := json.Unmarshal(r.Data, &p); err != nil || p.NickName != "René 🐼" || p.Gender != 1 {
		t.Fatalf("profile %+v, %v", p, err)
	}
	r = f.do(t, "POST", "/api/v1/me/profile", url.Values{"city": {"杭州"}, "token": {tok}})
	want(t, r, 0, 200)
	if err := json.Unmarshal(r.Data, &p); err != nil || p.NickName != "René 🐼" || p.City != "杭州" || p.Gender != 1 {
		t.Fatalf("after the form: %+v, %v", p, err)
	}
	writes := f.users.WriteCount()
	for name, c := range map[string]struct {
		body any
		code int
	}{
		"nothing":     {map[string]any{}, 1},
		"blank nick":  {map[string]any{"nickName": " \u200f "}, 1},
		"gender 7":    {map[string]any{"gender": 7}, 1},
		"gender text": {map[string]any{"gender": "male"}, 1},
		"gender bool": {map[string]any{"gender": true}, 1},
		"nick number": {map[string]any{"nickName": 5}, 1},
		"long nick":   {map[string]any{"nickName": strings.Repeat("字", 65)}, 1},
	} {
		if r := f.do(t, "POST", "/api/v1/me/profile", c.body, bearer...); r.Code != c.code {
			t.Errorf("%s: code %d, want %d (%s)", name, r.Code, c.code, r.raw)
		}
	}
	if r := f.do(t, "POST", "/api/v1/me/profile", map[string]any{"city": "x"}); r.Code != 2 {
		t.Errorf("no token: code %d", r.Code)
	}
	if f.users.WriteCount() != writes {
		t.Fatal("a rejected edit wrote")
	}
}

// multipartBody is what wx.uploadFile sends: the form fields (formData),
// then the file under name.
func multipartBody(t *testing.T, files map[string][]byte, fields map[string]string) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for name, data := range files {
		w, err := mw.CreateFormFile(name, "tmp_avatar.jpg")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
	}
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

func (f *fixture) upload(t *testing.T, files map[string][]byte, fields map[string]string, header ...string) reply {
	t.Helper()
	body, ct := multipartBody(t, files, fields)
	return f.do(t, "POST", "/api/v1/me/avatar", body.String(), append([]string{"Content-Type", ct}, header...)...)
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func TestUploadAvatar_StoresACleanImageAndServesIt(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	photo := sandbox.ChosenAvatar("alice") // EXIF GPS inside
	r := f.upload(t, map[string][]byte{"file": photo}, map[string]string{"token": tok})
	want(t, r, 0, 200)
	var p apiclient.Profile
	if err := json.Unmarshal(r.Data, &p); err != nil || !strings.HasPrefix(p.AvatarURL, "https://blobs.example/") {
		t.Fatalf("profile %+v, %v", p, err)
	}
	name := strings.TrimPrefix(p.AvatarURL, "https://blobs.example/")
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/media/avatars/"+name, nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/jpeg" || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("GET: %d %v", rec.Code, rec.Header())
	}
	if bytes.Contains(rec.Body.Bytes(), []byte(sandbox.GPSMarker)) || bytes.Contains(rec.Body.Bytes(), []byte("Exif")) {
		t.Fatal("the served avatar carries the photo's EXIF GPS")
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(rec.Body.Bytes())); err != nil || cfg.Width != 256 || cfg.Height != 256 {
		t.Fatalf("served %v, %v", cfg, err)
	}
	etag := rec.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
		t.Fatalf("ETag %q is not strong", etag)
	}
	req := httptest.NewRequest("GET", "/media/avatars/"+name, nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("revalidation: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	for _, bad := range []string{"../../etc/passwd", "nothing.jpg", strings.Repeat("0", 64) + ".jpg", "%2e%2e%2fsecret"} {
		rec = httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/media/avatars/"+bad, nil))
		if rec.Code != 404 {
			t.Errorf("GET %q: %d", bad, rec.Code)
		}
	}
	// The header token and the part name "avatar" work as well.
	r = f.upload(t, map[string][]byte{"avatar": pngOf(t, 40, 30)}, nil, "Authorization", "Bearer "+tok)
	want(t, r, 0, 200)
}

func TestUploadAvatar_HostileUploadsWriteNothing(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	other := f.login(t, "c2")
	good := pngOf(t, 20, 20)
	jpg := sandbox.ChosenAvatar("bob")
	huge := bytes.Repeat([]byte{0xFF}, 300<<10) // over the fixture's 256 KiB cap
	for name, c := range map[string]struct {
		files  map[string][]byte
		fields map[string]string
		header []string
		ct     string
		code   int
	}{
		"wrong type":       {files: map[string][]byte{"file": []byte("GIF? no: plain text")}, fields: map[string]string{"token": tok}, code: 1},
		"html":             {files: map[string][]byte{"file": []byte("<html><script>alert(1)</script>")}, fields: map[string]string{"token": tok}, code: 1},
		"truncated":        {files: map[string][]byte{"file": jpg[:len(jpg)/3]}, fields: map[string]string{"token": tok}, code: 1},
		"bomb":             {files: map[string][]byte{"file": imagingtest.PNGHeader(60000, 60000)}, fields: map[string]string{"token": tok}, code: 11},
		"zero bytes":       {files: map[string][]byte{"file": {}}, fields: map[string]string{"token": tok}, code: 1},
		"huge":             {files: map[string][]byte{"file": huge}, fields: map[string]string{"token": tok}, code: 11},
		"wrong part name":  {files: map[string][]byte{"image": good}, fields: map[string]string{"token": tok}, code: 1},
		"two files":        {files: map[string][]byte{"file": good, "avatar": good}, fields: map[string]string{"token": tok}, code: 1},
		"missing token":    {files: map[string][]byte{"file": good}, code: 2},
		"bad token":        {files: map[string][]byte{"file": good}, fields: map[string]string{"token": "x"}, code: 2},
		"two tokens":       {files: map[string][]byte{"file": good}, fields: map[string]string{"token": tok}, header: []string{"Authorization", "Bearer " + other}, code: 1},
		"bad header token": {files: map[string][]byte{"file": good}, fields: map[string]string{"token": tok}, header: []string{"Authorization", "Bearer other"}, code: 2},
		"json body":        {ct: "application/json", code: 11},
	} {
		t.Run(name, func(t *testing.T) {
			writes, blobs := f.users.WriteCount(), len(f.blobs.Names())
			var r reply
			if c.ct != "" {
				r = f.do(t, "POST", "/api/v1/me/avatar", `{"file":"x"}`, "Content-Type", c.ct, "Authorization", "Bearer "+tok)
			} else {
				r = f.upload(t, c.files, c.fields, c.header...)
			}
			if r.Code != c.code {
				t.Fatalf("code %d, want %d: %s", r.Code, c.code, r.raw)
			}
			if f.users.WriteCount() != writes || len(f.blobs.Names()) != blobs {
				t.Fatal("a rejected upload wrote")
			}
		})
	}
	// A polyglot is stored as pixels only.
	polyglot := append(pngOf(t, 32, 32), []byte("<script>alert(document.cookie)</script>")...)
	r := f.upload(t, map[string][]byte{"file": polyglot}, map[string]string{"token": tok})
	want(t, r, 0, 200)
	for _, n := range f.blobs.Names() {
		b, _ := f.blobs.Get(t.Context(), n)
		if bytes.Contains(b.Data, []byte("<script")) {
			t.Fatal("the script survived")
		}
	}
}

// A storage outage is code 9 and leaves the profile as it was.
func TestUploadAvatar_StorageOutageIsCode9(t *testing.T) {
	f := newFixture(t, nil)
	tok := f.login(t, "c1")
	f.blobs.SetErr(errUnavailable)
	writes := f.users.WriteCount()
	r := f.upload(t, map[string][]byte{"file": pngOf(t, 8, 8)}, map[string]string{"token": tok})
	want(t, r, 9, 503)
	if f.users.WriteCount() != writes {
		t.Fatal("the profile changed")
	}
}

var errUnavailable = domain.Wrap(domain.KindUnavailable, errors.New("object storage down"))
