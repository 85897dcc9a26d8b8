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
	"strconv"
	"strings"

	"wxbackend/domain"
)

// fields are a request body's string parameters, whatever its encoding.
type fields map[string]string

// get returns the first non-empty value among names (aliases of one parameter).
func (f fields) get(names ...string) string {
	for _, n := range names {
		if v := f[n]; v != "" {
			return v
		}
	}
	return ""
}

// readFields reads a POST body: JSON (wx.request's default) or a URL-encoded
// form (when the page sets that header). Unknown fields are ignored; a known
// field of another type than string is malformed. An empty body is no fields.
func readFields(r *http.Request, maxBody int64, known ...string) (fields, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
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
		return fields{}, nil
	}
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
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
func jsonFields(body []byte, known []string) (fields, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errNotObject
	}
	f := make(fields, len(known))
	seen := make([]bool, len(known))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errNotObject
		}
		name, _ := t.(string)
		i := slices.Index(known, name)
		if i < 0 { // unknown fields are ignored, but must be JSON
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, errNotObject
			}
			continue
		}
		// One pass per value: the decoder reads it and stores it.
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, errNotObject
		}
		if seen[i] {
			return nil, domain.Malformed(name, "given twice")
		}
		seen[i] = true
		switch v := v.(type) {
		case nil:
		case string:
			f[name] = v
		case bool:
			if !scalarFields[name] {
				return nil, domain.Malformed(name, "must be a string")
			}
			f[name] = strconv.FormatBool(v)
		case json.Number:
			if !scalarFields[name] {
				return nil, domain.Malformed(name, "must be a string")
			}
			f[name] = v.String()
		default:
			return nil, domain.Malformed(name, "must be a string")
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF { // nothing after the object
		return nil, errNotObject
	}
	return f, nil
}

func formFields(body []byte, known []string) (fields, error) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, domain.Malformed("body", "not a URL-encoded form")
	}
	f := make(fields, len(known))
	for _, name := range known {
		switch v := q[name]; {
		case len(v) > 1:
			return nil, domain.Malformed(name, "given twice")
		case len(v) == 1:
			f[name] = v[0]
		}
	}
	return f, nil
}
