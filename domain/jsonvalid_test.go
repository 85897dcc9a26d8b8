package domain_test

import (
	"encoding/json"
	"strings"
	"testing"

	"wxbackend/domain"
)

// FuzzValidJSON: ValidJSON agrees with encoding/json's Valid on any text.
func FuzzValidJSON(f *testing.F) {
	for _, seed := range []string{
		`{"iv":"r7BXXKkLb8qrSNn05n0qiA==","encryptedData":"CiyLU1Aw2K\/jY+b==","token":"x"}`,
		` {"a":[1,-0,0.5,-1e+3,2E-2,true,false,null,{"b":"\u00e9\n\"\\\/"}]} `, `[]`, `{}`, `""`, `0`,
		`01`, `1.`, `.5`, `-`, `1e`, `+1`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{1:2}`, `"\x"`, `"\u12"`, "\"\x01\"",
		"\"\xff\"", `tru`, `nul`, `{"a":1}}`, `[[[]]`, "", " ", strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := domain.ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("%q: ValidJSON %v, json.Valid %v", b, got, want)
		}
		if got := domain.ValidJSON(string(b)); got != json.Valid(b) {
			t.Fatalf("%q: ValidJSON of the string %v", b, got)
		}
	})
}
