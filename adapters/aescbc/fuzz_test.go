package aescbc_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"wxbackend/adapters/aescbc"
	"wxbackend/domain"
)

// FuzzDecrypt feeds the decrypter any key, iv and data: it never panics,
// fails only as the contract says (a format error, or one undecryptable
// error), and opens what Encrypt sealed.
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte("tiihtNczf5v6AKRy"), "r7BXXKkLb8qrSNn05n0qiA==", sampleData, []byte(`{"a":1}`))
	f.Add(make([]byte, 16), "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAA==", []byte{})
	f.Add([]byte("k"), "", "", []byte("\x00\x10\xff"))
	f.Add([]byte("0123456789abcdef"), "AAAA AAAA AAAA AAAA AAAA AA==", "@@@@", []byte(`{"watermark":{}}`))
	f.Fuzz(func(t *testing.T, rawKey []byte, iv, data string, plain []byte) {
		var k [16]byte
		copy(k[:], rawKey)
		key, err := domain.ParseSessionKey(base64.StdEncoding.EncodeToString(k[:]))
		if err != nil {
			t.Fatal(err)
		}
		dec := aescbc.NewDecrypter()
		_, err = dec.Decrypt(key, data, iv)
		if err != nil {
			if kind := domain.KindOf(err); kind != domain.KindInvalidInput && kind != domain.KindUndecryptable {
				t.Fatalf("Decrypt failed as %v: %v", kind, err)
			}
		}
		if _, err := dec.DecryptUserInfo(key, data, iv); err != nil {
			if kind := domain.KindOf(err); kind != domain.KindInvalidInput && kind != domain.KindUndecryptable {
				t.Fatalf("DecryptUserInfo failed as %v: %v", kind, err)
			}
		}
		var ivb [16]byte
		copy(ivb[:], iv)
		sealed, err := aescbc.Encrypt(key, ivb, plain)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.Decrypt(key, sealed, base64.StdEncoding.EncodeToString(ivb[:]))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip of %q: %q, %v", plain, got, err)
		}
	})
}
