// Package crypto implements WeChat's encrypted-data scheme: AES-128-CBC with
// PKCS#7 padding, key and iv in base64.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"unsafe"

	"wxbackend/domain"
)

// Decrypter opens WeChat's encrypted user data. The zero value is ready to use.
type Decrypter struct{}

// NewDecrypter returns a Decrypter.
func NewDecrypter() Decrypter { return Decrypter{} }

var (
	errIV   = domain.Malformed("iv", "must be 16 bytes of base64")
	errB64  = domain.Malformed("encryptedData", "not base64")
	errSize = domain.Malformed("encryptedData", "length is not a positive multiple of 16 bytes")
	// errOpen is the one error for everything that goes wrong after decrypting,
	// so that the answer says nothing about the padding.
	errOpen = &domain.Error{Kind: domain.KindUndecryptable, Msg: domain.ErrUndecryptable.Msg, Err: errors.New("bad padding")}
)

// DecryptUserInfo implements ports.Decrypter: it decrypts into a pooled
// buffer and parses the payload there (domain.ParseUserInfo copies what it
// keeps), so a request costs the cipher and the result's text, nothing more.
func (d Decrypter) DecryptUserInfo(key domain.SessionKey, encryptedData, iv string) (domain.UserInfo, error) {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	plain, err := open(key, encryptedData, iv, (*bp)[:0])
	if cap(plain) > cap(*bp) && cap(plain) <= maxPooled {
		*bp = plain[:0] // keep the larger buffer
	}
	if err != nil {
		return domain.UserInfo{}, err
	}
	return domain.ParseUserInfo(plain)
}

// Decrypt returns the plaintext of encryptedData in a new buffer.
func (Decrypter) Decrypt(key domain.SessionKey, encryptedData, iv string) ([]byte, error) {
	return open(key, encryptedData, iv, nil)
}

// buffers hold decrypted payloads for the time of a parse.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooled bounds what a pooled buffer keeps: a payload larger than any
// WeChat sends is not worth keeping memory for.
const maxPooled = 16 << 10

// open decodes encryptedData onto dst, decrypts it in place and strips the
// padding.
func open(key domain.SessionKey, encryptedData, iv string, dst []byte) ([]byte, error) {
	var ivBuf [18]byte // 24 base64 characters are at most 18 bytes
	ivb, err := decodeBase64(ivBuf[:0], iv)
	if err != nil || len(ivb) != aes.BlockSize {
		return nil, errIV
	}
	data, err := decodeBase64(dst, encryptedData)
	if err != nil {
		return data, errB64
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return data, errSize
	}
	k := key.Bytes()
	block, err := aes.NewCipher(k)
	if err != nil { // a key that is not 16 bytes never gets into a session
		return data, domain.Wrap(domain.KindInternal, err)
	}
	// CBC by hand, last block first, in place: each block's plaintext needs
	// the ciphertext before it, which is still there.
	for i := len(data) - aes.BlockSize; i >= 0; i -= aes.BlockSize {
		blk := data[i : i+aes.BlockSize]
		block.Decrypt(blk, blk)
		prev := ivb
		if i > 0 {
			prev = data[i-aes.BlockSize : i]
		}
		subtle.XORBytes(blk, blk, prev)
	}
	plain, ok := unpad(data)
	if !ok {
		return data, errOpen
	}
	return plain, nil
}

// decodeBase64 appends the decoding of s (standard base64, padded or not)
// to dst. Spaces are read as '+': form bodies sent without URL-encoding turn
// every '+' into a space, and base64 has no spaces of its own.
func decodeBase64(dst []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, ' ') >= 0 {
		s = strings.ReplaceAll(s, " ", "+")
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	// A read-only view of s's bytes: base64 reads src and never keeps it.
	src := unsafe.Slice(unsafe.StringData(s), len(s))
	return enc.AppendDecode(dst, src)
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
