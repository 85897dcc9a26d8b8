package sandbox

// The server APIs wxbackend passes on for a deployment's other services
// (issue 25): subscribe messages, mini-program codes, URL links; each
// checks the access token the sandbox issued. Every server-API call is
// counted by path, the last query of each path is kept (tests check that a
// caller's access_token never arrives), and faults can be queued per path.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// APICalls returns how many calls each server-API path (without its
// leading slash) has had, token rejections included.
func (s *Sandbox) APICalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.pathCalls))
	for k, v := range s.pathCalls {
		out[k] = v
	}
	return out
}

// LastQuery returns the query of the last call of path (without its
// leading slash), or nil.
func (s *Sandbox) LastQuery(path string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastQuery[path]
}

// InjectAPIFault makes the next call of path (without its leading slash)
// misbehave as f says (Wait, then Lost, Hang, Status and Body, or Errcode;
// Times calls).
func (s *Sandbox) InjectAPIFault(path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiFaults[path] = append(s.apiFaults[path], f)
}

// counted counts each server-API call by path, keeps its query and applies
// a fault queued for its path, before next answers it.
func (s *Sandbox) counted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/")
		if strings.HasPrefix(path, "sandbox/") {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		s.pathCalls[path]++
		s.lastQuery[path] = r.URL.Query()
		var f Fault
		queue := s.apiFaults[path]
		faulty := len(queue) > 0
		if faulty {
			f = queue[0]
			if f.Times--; f.Times <= 0 {
				s.apiFaults[path] = queue[1:]
			} else {
				queue[0] = f
			}
		}
		s.mu.Unlock()
		if faulty && f.Wait != nil {
			if f.Arrived != nil {
				close(f.Arrived)
			}
			select {
			case <-f.Wait:
			case <-r.Context().Done():
				return // the caller gave up (or died): nothing was done
			}
		}
		switch {
		case !faulty:
			next.ServeHTTP(w, r)
		case f.Lost:
			// Answered (a message is sent), then the answer is lost.
			next.ServeHTTP(discard{}, r)
			if f.Reset {
				resetConn(w)
			} else {
				<-r.Context().Done()
			}
		case f.Hang:
			<-r.Context().Done()
		case f.Status != 0:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, f.Body)
		case f.Errcode != 0:
			writeAPI(w, apiError(f.Errcode, "injected fault"))
		default: // Wait alone: answered as usual once released
			next.ServeHTTP(w, r)
		}
	})
}

// MaxScene is the longest scene getwxacodeunlimit takes, as on WeChat.
const MaxScene = 32

// serveCodeUnlimit is POST wxa/getwxacodeunlimit: a PNG (CodeImage) for a
// scene, or WeChat's JSON error, with HTTP 200 either way, as WeChat does.
func (s *Sandbox) serveCodeUnlimit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Scene string `json:"scene"`
		Page  string `json:"page"`
		Width int    `json:"width"`
	}
	err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req)
	s.mu.Lock()
	a, ok := s.authorizeLocked(r)
	s.mu.Unlock()
	switch {
	case !ok:
		writeAPI(w, a)
		return
	case err != nil:
		writeAPI(w, apiError(47001, "data format error"))
		return
	case req.Scene == "" || utf8.RuneCountInString(req.Scene) > MaxScene:
		writeAPI(w, apiError(40169, "invalid length for scene, or the data is not json string"))
		return
	}
	img := CodeImage(req.Scene, req.Page, req.Width)
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(img)
}

// CodeImage is the sandbox's mini-program code of a scene and page: a PNG
// of width pixels (280 to 1280, 430 when 0, as WeChat's) whose squares
// are bits of the SHA-256 of both, the same bytes for the same input.
func CodeImage(scene, page string, width int) []byte {
	if width == 0 {
		width = 430
	}
	width = min(max(width, 280), 1280)
	const cells = 16
	sum := sha256.Sum256([]byte(scene + "\x00" + page))
	bits := [4]uint64{}
	for i := range bits {
		bits[i] = binary.BigEndian.Uint64(sum[i*8:])
	}
	img := image.NewPaletted(image.Rect(0, 0, width, width), color.Palette{color.White, color.Black})
	cell := width / cells
	for y := range width {
		for x := range width {
			cx, cy := min(x/cell, cells-1), min(y/cell, cells-1)
			n := cy*cells + cx
			if bits[n/64]>>(n%64)&1 == 1 {
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// serveURLLink is POST wxa/generate_urllink: a wxaurl.cn link, the same
// for the same body.
func (s *Sandbox) serveURLLink(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	s.mu.Lock()
	a, ok := s.authorizeLocked(r)
	s.mu.Unlock()
	if !ok {
		writeAPI(w, a)
		return
	}
	sum := sha256.Sum256(body)
	id := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:9])
	writeAPI(w, apiAnswer{"errcode": 0, "errmsg": "ok", "url_link": "https://wxaurl.cn/" + id})
}

// discard is an answer no one reads.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// serveInvalidate is POST /sandbox/access_token/invalidate: the token in
// force stops working at once (InvalidateAccessToken), for a demo or a
// test of a backend's retry.
func (s *Sandbox) serveInvalidate(w http.ResponseWriter, _ *http.Request) {
	s.InvalidateAccessToken()
	writeClient(w, map[string]string{"errMsg": "invalidate:ok"}, nil)
}
