package domain

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
)

// WeChat's message push ("WXBizMsgCrypt") signs and encrypts what it sends a
// server with an app's Token and EncodingAESKey. These are its rules, as pure
// functions: the receiver (app.ReceivePush) verifies and decrypts with them,
// the sandbox signs and encrypts with them.

// PushKey is an app's message key: the 32 bytes its EncodingAESKey encodes.
type PushKey [32]byte

// PushKeyLen is the length of an EncodingAESKey: 43 characters of base64
// without the final "=".
const PushKeyLen = 43

// ParsePushKey reads an EncodingAESKey: 43 characters of base64, which with
// "=" appended are the 32 bytes of the AES-256 key.
func ParsePushKey(encodingAESKey string) (PushKey, error) {
	var k PushKey
	if len(encodingAESKey) != PushKeyLen {
		return k, errors.New("an EncodingAESKey is 43 characters")
	}
	raw, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(raw) != len(k) {
		return k, errors.New("an EncodingAESKey is 43 characters of base64 (a-z, A-Z, 0-9)")
	}
	copy(k[:], raw)
	return k, nil
}

// PushSignature is WeChat's signature of a push: the hex SHA-1 of token,
// timestamp, nonce (and, in safe mode, the Encrypt text) sorted and joined.
func PushSignature(token string, parts ...string) string {
	all := append([]string{token}, parts...)
	slices.Sort(all)
	sum := sha1.Sum([]byte(strings.Join(all, "")))
	return hex.EncodeToString(sum[:])
}

// PushSignatureValid compares a received signature with the one computed, in
// constant time; the hex is compared case-insensitively.
func PushSignatureValid(got, token string, parts ...string) bool {
	want := PushSignature(token, parts...)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

// pushBlock is the block PKCS#7 pads a push's plaintext to: 32 bytes, not
// AES's 16 (WeChat's choice).
const pushBlock = 32

// errPushCipher is every failure to open a push: one message whatever went
// wrong, so a prober learns nothing from which.
var errPushCipher = errors.New("push message does not decrypt")

// DecryptPush opens a push's Encrypt text: base64 of AES-256-CBC under k with
// the key's first 16 bytes as IV, padded by PKCS#7 to 32-byte blocks. The
// plaintext is 16 random bytes, the message's length (4 bytes, big-endian),
// the message, then the id of the app it is for, which DecryptPush returns for
// the caller to compare. Every malformed input is an error of kind
// KindUndecryptable; none panics.
func DecryptPush(k PushKey, encrypted string) (msg []byte, appID string, err error) {
	ct, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypted))
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, "", Wrap(KindUndecryptable, errPushCipher)
	}
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, "", Wrap(KindInternal, err)
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, k[:aes.BlockSize]).CryptBlocks(plain, ct)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > pushBlock || pad > len(plain) {
		return nil, "", Wrap(KindUndecryptable, errPushCipher)
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, "", Wrap(KindUndecryptable, errPushCipher)
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, "", Wrap(KindUndecryptable, errPushCipher)
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	if uint64(n) > uint64(len(plain)-20) {
		return nil, "", Wrap(KindUndecryptable, errPushCipher)
	}
	return plain[20 : 20+n], string(plain[20+n:]), nil
}

// EncryptPush seals msg for appID as WeChat does, with random as the 16
// leading bytes (the caller's randomness: fixed in tests, crypto/rand
// otherwise). It is the sandbox's and the encrypted reply's half of
// DecryptPush.
func EncryptPush(k PushKey, random [16]byte, msg []byte, appID string) string {
	plain := make([]byte, 0, 20+len(msg)+len(appID)+pushBlock)
	plain = append(plain, random[:]...)
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(msg)))
	plain = append(plain, msg...)
	plain = append(plain, appID...)
	pad := pushBlock - len(plain)%pushBlock
	for range pad {
		plain = append(plain, byte(pad))
	}
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	cipher.NewCBCEncrypter(block, k[:aes.BlockSize]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain)
}
