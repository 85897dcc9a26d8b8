package apikeys

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// KeyPrefix starts every key NewKey makes, so a key found in a repository
// or a paste is recognised (secret scanners match prefixes).
const KeyPrefix = "wxk_"

// NewKey makes a key from 32 bytes of random (crypto/rand.Reader) and
// returns it with its hex SHA-256, the form the keys file holds.
func NewKey(random io.Reader) (key, digest string, err error) {
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", "", fmt.Errorf("api keys: random: %w", err)
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, Digest(key), nil
}

// Digest is the hex SHA-256 of key, as the keys file holds it.
func Digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Block is the [[key]] entry of the keys file for e.
func Block(e Entry) string {
	var b strings.Builder
	b.WriteString("[[key]]\n")
	fmt.Fprintf(&b, "name = %s\n", strconv.Quote(e.Name))
	fmt.Fprintf(&b, "sha256 = %s\n", strconv.Quote(e.SHA256))
	fmt.Fprintf(&b, "scopes = %s\n", quoteAll(e.Scopes))
	if len(e.Apps) > 0 {
		fmt.Fprintf(&b, "apps = %s\n", quoteAll(e.Apps))
	}
	return b.String()
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
