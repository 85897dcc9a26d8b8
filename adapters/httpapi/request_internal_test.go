package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"testing"

	"wxbackend/domain"
)

// decoderFields is jsonFields as it was written first, token by token with
// a json.Decoder: the reference the walker over json.Valid's body must
// agree with, on every body.
func decoderFields(body []byte, known []string) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errNotObject
	}
	f := make(map[string]string, len(known))
	seen := make([]bool, len(known))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errNotObject
		}
		name, _ := t.(string)
		i := slices.Index(known, name)
		if i < 0 {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, errNotObject
			}
			continue
		}
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
	if _, err := dec.Token(); err != nil {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	return f, nil
}

var fieldBodies = []string{
	`{"code":"0a1b2c"}`,
	` { "iv" : "r7BXXKkLb8qrSNn05n0qiA==", "encrypedData":"abc/+=", "token":"t.x" } `,
	`{"code":"a","code":"b"}`,
	`{"\u0063ode":"a","code":"b"}`,
	`{"code":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/"}`,
	"{\"code\":\"\xff\xfe bad utf-8\"}",
	"{\"\xffcode\":\"x\"}",
	`{"gender":1,"all":true,"code":null}`,
	`{"gender":-1.5e3}`,
	`{"code":1}`,
	`{"code":false}`,
	`{"code":{"a":"}"}}`,
	`{"code":["x"]}`,
	`{"other":{"a":[1,{"b":"]}\""}],"c":null},"code":"after"}`,
	`{"other":"x","other":"y","code":"z"}`,
	`{}`, `[]`, `"code"`, `5`, ``, `   `, `{"code":"a"}{}`, `{"code":"a"} x`, `{"code":}`, `{"code":"a",}`,
	`{"code" "a"}`, "{\"code\":\"a\u0001\"}", `{"code":"a"`, `{"gender":01}`, `{"all":tru}`,
	`{"name":"x","gender":"2","language":"zh_CN"}`,
}

var fieldNames = []string{"code", "iv", "encrypedData", "token", "gender", "all", "name", "language"}

func sameFields(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := jsonFields(body, fieldNames)
	want, wantErr := decoderFields(body, fieldNames)
	if !json.Valid(body) {
		// The decoder could meet a field's wrong type before the broken
		// syntax after it; the walker names the syntax first.
		if gotErr != errNotObject || wantErr == nil {
			t.Fatalf("%q (not JSON): error %v, the decoder's %v", body, gotErr, wantErr)
		}
		return
	}
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%q: error %v, the decoder's %v", body, gotErr, wantErr)
	}
	if !maps.Equal(asMap(got), want) {
		t.Fatalf("%q: fields %q, the decoder's %q", body, got, want)
	}
}

// asMap is f as a map (nil for none), for comparing with the decoder's.
func asMap(f fields) map[string]string {
	if f == nil {
		return nil
	}
	m := make(map[string]string, len(f))
	for _, x := range f {
		m[x.name] = x.value
	}
	return m
}

// The walker reads every body as the json.Decoder did: the same fields,
// the same errors (a body that is not JSON is "not a JSON object", whatever
// came before its broken part).
func TestJSONFields_AgreesWithTheDecoder(t *testing.T) {
	for _, b := range fieldBodies {
		sameFields(t, []byte(b))
	}
}

func FuzzJSONFields(f *testing.F) {
	for _, b := range fieldBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameFields(t, body) })
}

// A body's fields cost one allocation each, and the map.
func TestJSONFields_Allocations(t *testing.T) {
	body := []byte(`{"iv":"r7BXXKkLb8qrSNn05n0qiA==","encrypedData":"abc/+=","token":"t.x","extra":{"a":[1,2]}}`)
	n := testing.AllocsPerRun(100, func() {
		if _, err := jsonFields(body, fieldNames); err != nil {
			t.Fatal(err)
		}
	})
	if n > 6 {
		t.Fatalf("%.0f allocations for three fields", n)
	}
}
