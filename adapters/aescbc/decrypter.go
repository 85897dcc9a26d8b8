// Package aescbc implements WeChat's encrypted-data scheme: AES-128-CBC with
// PKCS#7 padding, key and iv in base64.
package aescbc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"sync"

	"wxbackend/domain"

	"wxbackend/ports"
)

// Decrypter opens WeChat's encrypted user data. The zero value is ready to use.
type Decrypter struct{}

var _ ports.Decrypter = Decrypter{}

// NewDecrypter returns a Decrypter.
func NewDecrypter() Decrypter { return Decrypter{} }

var (
	errIV   = domain.Malformed("iv", "must be 16 bytes of base64")
	errB64  = domain.Malformed("encryptedData", "not base64")
	errSize = domain.Malformed("encryptedData", "length is not a positive multiple of 16 bytes")
	// errOpen is the one error for everything that goes wrong after decrypting,
	// so that the answer says nothing about the padding.
	errOpen = domain.Wrap(domain.KindUndecryptable, errors.New("bad padding"))
)

// DecryptUserInfo implements ports.Decrypter.
func (d Decrypter) DecryptUserInfo(key domain.SessionKey, encryptedData, iv string) (domain.UserInfo, error) {
	return open(key, encryptedData, iv, domain.ParseUserInfo)
}

// DecryptPhone implements ports.Decrypter.
func (d Decrypter) DecryptPhone(key domain.SessionKey, encryptedData, iv string) (domain.PhoneInfo, error) {
	return open(key, encryptedData, iv, domain.ParsePhoneInfo)
}

// buffers hold plaintexts while they are parsed: the parsers copy what
// they keep, so a buffer is reused by the next payload.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept: user data is well under 1 KB.
const maxPooled = 8 << 10

// open decrypts encryptedData into a pooled buffer and parses it.
func open[T any](key domain.SessionKey, encryptedData, iv string, parse func([]byte) (T, error)) (T, error) {
	buf := buffers.Get().(*[]byte)
	plain, err := decrypt(*buf, key, encryptedData, iv)
	var out T
	if err == nil {
		out, err = parse(plain)
	}
	if cap(plain) <= maxPooled {
		*buf = plain[:0]
		buffers.Put(buf)
	}
	return out, err
}

// Decrypt returns the plaintext of encryptedData: the base64 text is decoded,
// decrypted with AES-128-CBC under key and ivB64, and its padding checked and
// stripped.
func (Decrypter) Decrypt(key domain.SessionKey, encryptedData, ivB64 string) ([]byte, error) {
	return decrypt(nil, key, encryptedData, ivB64)
}

// decrypt is Decrypt into buf when it is large enough (else into a new
// buffer); the plaintext is a piece of the buffer it used.
func decrypt(buf []byte, key domain.SessionKey, encryptedData, ivB64 string) ([]byte, error) {
	var ivBuf [aes.BlockSize]byte
	iv, err := decodeBase64(ivBuf[:0], ivB64)
	if err != nil || len(iv) != aes.BlockSize {
		return buf, errIV
	}
	data, err := decodeBase64(buf[:0], encryptedData)
	if err != nil {
		return data, errB64
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return data, errSize
	}
	block, err := aes.NewCipher(key.Bytes())
	if err != nil { // a key that is not 16 bytes never gets into a session
		return data, domain.Wrap(domain.KindInternal, err)
	}
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(data, data)
	plain, ok := unpad(data)
	if !ok {
		return data, errOpen
	}
	return plain, nil
}

// decodeBase64 appends the bytes of s (standard base64, padded or not) to
// dst. Spaces are read as '+': form bodies sent without URL-encoding turn
// every '+' into a space, and base64 has no spaces of its own.
func decodeBase64(dst []byte, s string) ([]byte, error) {
	s = strings.ReplaceAll(s, " ", "+")
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	return enc.AppendDecode(dst, []byte(s))
}

// unpad validates and strips PKCS#7 padding of a non-empty multiple of the block
// size, in time that does not depend on the padding's bytes.
func unpad(b []byte) ([]byte, bool) {
	n := len(b)
	p := int(b[n-1])
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, aes.BlockSize)
	for i := 1; i <= aes.BlockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, p)
		eq := subtle.ConstantTimeByteEq(b[n-i], byte(p))
		good &= subtle.ConstantTimeSelect(inPad, eq, 1)
	}
	if good != 1 {
		return nil, false
	}
	return b[:n-p], true
}

// Encrypt seals plain as WeChat does, for the sandbox and tests: PKCS#7 padding,
// AES-128-CBC under key and iv, and the ciphertext in standard base64.
func Encrypt(key domain.SessionKey, iv [aes.BlockSize]byte, plain []byte) (string, error) {
	block, err := aes.NewCipher(key.Bytes())
	if err != nil {
		return "", err
	}
	p := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+p)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(p)
	}
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}
