// Package system adapts the operating system's clock and randomness.
package system

import (
	"crypto/rand"
	"time"

	"wxbackend/domain"

	"wxbackend/ports"
)

// Clock is the wall clock.
type Clock struct{}

var _ ports.Clock = Clock{}

// Now returns the current time in UTC.
func (Clock) Now() time.Time { return time.Now().UTC() }

// TokenSource makes tokens from crypto/rand.
type TokenSource struct{}

var _ ports.TokenSource = TokenSource{}

// NewToken returns a token of 256 random bits.
func (TokenSource) NewToken() (domain.Token, error) {
	var b [domain.TokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return domain.Token{}, err
	}
	return domain.NewToken(b), nil
}

// NewBlobName returns a name of 256 random bits.
func (TokenSource) NewBlobName(ext string) (string, error) {
	var b [domain.BlobNameBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return domain.NewBlobName(b, ext), nil
}
