package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Every lookup compares the presented key's digest with every configured
// digest, through crypto/subtle, whether the first one matches, the last,
// or none: no early exit tells a caller where a guess stopped.
func TestLookup_ComparesWithEveryDigestInConstantTime(t *testing.T) {
	var keys []string
	var file []byte
	for _, name := range []string{"first", "middle", "last"} {
		key, digest, err := NewKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
		file = append(file, Block(Entry{Name: name, SHA256: digest, Scopes: []string{"introspect"}})+"\n"...)
	}
	path := filepath.Join(t.TempDir(), "keys.toml")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := Open(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	k.compare = func(a, b []byte) int { calls++; return subtle.ConstantTimeCompare(a, b) }
	for i, presented := range append(keys, "wxk_unknown") {
		calls = 0
		got, err := k.Lookup(context.Background(), presented)
		if i < len(keys) && (err != nil || got.Name != []string{"first", "middle", "last"}[i]) {
			t.Fatalf("key %d: %+v %v", i, got, err)
		}
		if calls != 3 {
			t.Errorf("key %d: compared with %d digests, not every one", i, calls)
		}
	}
}

// BenchmarkLookup is one key check against files of 1, 10 and 100 keys:
// a SHA-256 and a constant-time compare per configured digest.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var file []byte
			var last string
			for i := 0; i < n; i++ {
				key, digest, err := NewKey(rand.Reader)
				if err != nil {
					b.Fatal(err)
				}
				last = key
				file = append(file, Block(Entry{Name: "k" + strconv.Itoa(i), SHA256: digest, Scopes: []string{"introspect"}})+"\n"...)
			}
			path := filepath.Join(b.TempDir(), "keys.toml")
			if err := os.WriteFile(path, file, 0o600); err != nil {
				b.Fatal(err)
			}
			k, err := Open(path, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Lookup(ctx, last); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
