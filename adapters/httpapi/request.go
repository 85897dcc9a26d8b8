package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"wxbackend/domain"
)

// fields are a request body's string parameters, whatever its encoding:
// name and value pairs, each name once. A request has a handful, which a
// slice holds in a third of a map's bytes.
type fields []field

type field struct{ name, value string }

// lookup returns name's value, and whether the body had it.
func (f fields) lookup(name string) (string, bool) {
	for _, x := range f {
		if x.name == name {
			return x.value, true
		}
	}
	return "", false
}

// val returns name's value ("" when the body had none).
func (f fields) val(name string) string {
	v, _ := f.lookup(name)
	return v
}

// get returns the first non-empty value among names (aliases of one parameter).
func (f fields) get(names ...string) string {
	for _, n := range names {
		if v := f.val(n); v != "" {
			return v
		}
	}
	return ""
}

// with returns f with name's value set to value.
func (f fields) with(name, value string) fields {
	for i := range f {
		if f[i].name == name {
			f[i].value = value
			return f
		}
	}
	return append(f, field{name, value})
}

// readFields reads a POST body: JSON (wx.request's default) or a URL-encoded
// form (when the page sets that header). Unknown fields are ignored; a known
// field of another type than string is malformed. An empty body is no fields.
func readFields(r *http.Request, maxBody int64, known ...string) (fields, error) {
	buf := bodyBuffers.Get().(*[]byte)
	body, err := readBody(r, maxBody, *buf)
	defer func() {
		if cap(body) <= maxPooledBody {
			*buf = body[:0]
			bodyBuffers.Put(buf)
		}
	}()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		if err := readErr(err); err == errBodyTimeout {
			return nil, err
		}
		return nil, domain.Wrap(domain.KindInvalidInput, err)
	}
	if len(body) == 0 {
		return nil, nil
	}
	ct := r.Header.Get("Content-Type")
	mt := ct // the two canonical forms are media types as they are
	if ct != "" && ct != "application/json" && ct != "application/x-www-form-urlencoded" {
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, errUnsupportedMedia
		}
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && looksJSON(body)):
		return jsonFields(body, known)
	case mt == "application/x-www-form-urlencoded" || mt == "":
		return formFields(body, known)
	default:
		return nil, errUnsupportedMedia
	}
}

// bodyBuffers are readFields's body buffers, reused request after request:
// nothing it returns points into one (jsonFields and formFields copy what
// they keep), so a buffer is free again once the fields are read.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer kept for reuse: a mini-program's
// bodies are a few KB; a rare large one is not held on to.
const maxPooledBody = 16 << 10

// readBody reads r's body, up to maxBody bytes, into buf when it fits its
// Content-Length (else into a buffer of that length), or as it comes
// without one. It returns the buffer it read into, even with an error.
func readBody(r *http.Request, maxBody int64, buf []byte) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= maxBody {
		// Exactly n bytes are read, within the bound: the server's body
		// reader ends at its Content-Length, so no MaxBytesReader is needed.
		if int64(cap(buf)) >= n {
			buf = buf[:n]
		} else {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return buf, err
		}
		return buf, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	return b, err
}

func looksJSON(body []byte) bool {
	s := strings.TrimLeft(string(body[:min(len(body), 16)]), " \t\r\n")
	return strings.HasPrefix(s, "{")
}

var errNotObject = domain.Malformed("body", "not a JSON object")

// scalarFields are the fields a JSON body may send as numbers or booleans
// (gender as WeChat's own objects do, all as a flag); they are read as
// their text.
var scalarFields = map[string]bool{"gender": true, "all": true}

// jsonFields reads the known string fields of a JSON object. A known field
// given twice is malformed: which of the two a proxy or a log read is
// anyone's guess.
//
// The body is checked whole by json.Valid first, then walked once: a known
// string without escapes is taken as it is (a piece of one copy of the
// body), anything else goes through json.Unmarshal. A json.Decoder token by
// token cost about 40 allocations for /getinfo/'s three fields; this costs
// one for them all.
func jsonFields(body []byte, known []string) (fields, error) {
	if !json.Valid(body) {
		return nil, errNotObject
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		return nil, errNotObject
	}
	f := make(fields, 0, min(len(known), 4)) // a route's body sends a few of its known fields
	var seen uint64                          // by index in known
	if len(known) > 64 {
		panic("httpapi: jsonFields reads at most 64 known fields")
	}
	var text string // body's text, copied once at the first string read
	i = skipSpace(body, i+1)
	for body[i] != '}' {
		if body[i] == ',' {
			i = skipSpace(body, i+1)
		}
		end := stringEnd(body, i)
		k := knownIndex(body[i:end], known)
		i = skipSpace(body, end)
		i = skipSpace(body, i+1) // the colon
		end = valueEnd(body, i)
		raw := body[i:end]
		i = skipSpace(body, end)
		if k < 0 { // unknown fields are ignored (json.Valid checked them)
			continue
		}
		name := known[k]
		if seen&(1<<k) != 0 {
			return nil, domain.Malformed(name, "given twice")
		}
		seen |= 1 << k
		switch c := raw[0]; {
		case c == 'n': // null
		case c == '"':
			if plainString(raw) {
				if text == "" {
					text = string(body)
				}
				f = append(f, field{name, text[end-len(raw)+1 : end-1]})
				continue
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				return nil, errNotObject
			}
			f = append(f, field{name, v})
		case c == 't' || c == 'f' || c == '-' || c >= '0' && c <= '9':
			if !scalarFields[name] {
				return nil, domain.Malformed(name, "must be a string")
			}
			f = append(f, field{name, string(raw)}) // a number's or a boolean's text, as it was sent
		default:
			return nil, domain.Malformed(name, "must be a string")
		}
	}
	return f, nil
}

// knownIndex returns the index in known of the quoted name raw, or -1.
func knownIndex(raw []byte, known []string) int {
	content := raw[1 : len(raw)-1]
	if bytes.IndexByte(content, '\\') >= 0 {
		var name string
		if json.Unmarshal(raw, &name) != nil {
			return -1
		}
		return slices.Index(known, name)
	}
	for k, n := range known {
		if string(content) == n {
			return k
		}
	}
	return -1
}

// plainString reports whether the JSON string raw (quotes included) has no
// escape and is valid UTF-8: its content is then its value as it is (else
// json.Unmarshal reads it, escapes resolved, invalid UTF-8 replaced).
func plainString(raw []byte) bool {
	content := raw[1 : len(raw)-1]
	return bytes.IndexByte(content, '\\') < 0 && utf8.Valid(content)
}

// The walkers below run on a body json.Valid accepted: they do not check
// its syntax again.

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just after the string starting at b[i] ('"').
func stringEnd(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++ // the escaped byte; \uXXXX's hex digits are plain bytes
		}
	}
	return i + 1
}

// valueEnd returns the index just after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
		i++
	}
	return i
}

func formFields(body []byte, known []string) (fields, error) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, domain.Malformed("body", "not a URL-encoded form")
	}
	var f fields
	for _, name := range known {
		switch v := q[name]; {
		case len(v) > 1:
			return nil, domain.Malformed(name, "given twice")
		case len(v) == 1:
			f = append(f, field{name, v[0]})
		}
	}
	return f, nil
}
