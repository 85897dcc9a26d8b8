// Package porttest holds the contract suites of the ports: one exported
// function per port that every implementation's tests call, so the fakes, the
// memory and Redis session stores, and the SQLite, MariaDB and PostgreSQL user
// stores are held to the same behaviour.
package porttest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"wxbackend/domain"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// randomKey returns a fresh session key.
func randomKey(t testing.TB) domain.SessionKey {
	t.Helper()
	var b [domain.SessionKeyBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	k, err := domain.ParseSessionKey(base64.StdEncoding.EncodeToString(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// randomDigest returns the digest of a fresh token.
func randomDigest(t testing.TB) domain.TokenDigest {
	t.Helper()
	var b [domain.TokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return domain.NewToken(b).Digest()
}

// uniqueID returns an identifier no other test uses, so that cases sharing a
// database do not see each other's rows.
func uniqueID(t *testing.T, prefix string) string {
	t.Helper()
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

func wantKind(t *testing.T, err error, k domain.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want kind %v", k)
	}
	if got := domain.KindOf(err); got != k {
		t.Fatalf("got error %v of kind %v, want kind %v", err, got, k)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}
