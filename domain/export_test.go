package domain

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
)

// SealPushForTest encrypts plain as a push's ciphertext without framing or
// padding it (plain must be whole AES blocks), so tests can reach the
// decoder's checks of padding and length.
func SealPushForTest(k PushKey, plain []byte) string {
	block, _ := aes.NewCipher(k[:])
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, k[:aes.BlockSize]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}
