// Package apikeys checks the API keys of the internal listener against a
// TOML file of their digests:
//
//	[[key]]
//	name = "orders"                 # who holds it: logs and metrics show this, never the key
//	sha256 = "9f86d08…"             # hex SHA-256 of the key (wxbackend keys new prints it)
//	scopes = ["introspect"]         # introspect, openapi, messages
//	apps = ["wx1111111111111111"]   # optional: the apps it may act for (none: every app)
//
// Keys are never stored: a leaked file opens nothing. Several entries may
// share a name (the old and the new key while one is rotated). A presented
// key is hashed and compared with every digest in constant time
// (crypto/subtle), with no early exit and no map keyed by digest, so how
// long a lookup takes tells nothing about how close a guess came.
//
// The file is read again on Reload (the server calls it on SIGHUP) and when
// its content changes (Watch). A file that does not read or parse keeps the
// keys in force, and the error is logged (it names the entry, never a key or
// a digest).
package apikeys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/BurntSushi/toml"

	"wxbackend/config/setting"
	"wxbackend/domain"
	"wxbackend/ports"
)

// Options locate the keys file; each tagged field is a setting (see
// config/setting).
type Options struct {
	// File holds the keys' digests. Empty: no keys, and no internal listener.
	File string `setting:"internal-keys-file" usage:"a TOML file of the internal listener's API keys ([[key]] name, sha256, scopes, apps; see wxbackend keys new); empty: no internal listener"`
	// ReloadInterval is how often the file is read for changes; 0: only on
	// SIGHUP.
	ReloadInterval time.Duration `setting:"internal-keys-reload-interval" default:"5s" usage:"how often the API keys file is checked for changes (0: only on SIGHUP)"`
}

// Check implements setting.Checker.
func (o *Options) Check(p *setting.Problems) {
	p.NotNegative(&o.ReloadInterval)
}

// Entry is one [[key]] of the file.
type Entry struct {
	Name   string   `toml:"name"`
	SHA256 string   `toml:"sha256"`
	Scopes []string `toml:"scopes"`
	Apps   []string `toml:"apps"`
}

// entry is a checked Entry: the key as the core sees it, and its digest.
type entry struct {
	key    domain.APIKey
	digest [sha256.Size]byte
}

// set is the keys in force and the digest of the file they came from.
type set struct {
	entries []entry
	file    [sha256.Size]byte
}

// Keys implements ports.APIKeys on a keys file. It is safe for concurrent
// use; a reload swaps the whole set at once.
type Keys struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[set]

	mu      sync.Mutex // serializes reloads
	lastBad [sha256.Size]byte
	// compare is subtle.ConstantTimeCompare; a test counts its calls.
	compare func(a, b []byte) int
}

var _ ports.APIKeys = (*Keys)(nil)

// Open reads the keys file at path: at start, a file that does not read
// or parse is an error.
func Open(path string, log *slog.Logger) (*Keys, error) {
	k := &Keys{path: path, log: log, compare: subtle.ConstantTimeCompare}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	s, _, err := parse(path, b)
	if err != nil {
		return nil, err
	}
	k.cur.Store(s)
	k.log.Info("api keys loaded: " + summary(s))
	return k, nil
}

// MaxKeyLen bounds a presented key: longer ones are not hashed.
const MaxKeyLen = 256

var errUnknownKey = errors.New("unknown API key")

// Lookup implements ports.APIKeys.
func (k *Keys) Lookup(_ context.Context, presented string) (domain.APIKey, error) {
	if presented == "" || len(presented) > MaxKeyLen {
		return domain.APIKey{}, domain.Wrap(domain.KindUnauthenticated, errUnknownKey)
	}
	sum := sha256.Sum256([]byte(presented))
	s := k.cur.Load()
	found := -1
	for i := range s.entries { // every digest, whatever matched before
		if k.compare(sum[:], s.entries[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return domain.APIKey{}, domain.Wrap(domain.KindUnauthenticated, errUnknownKey)
	}
	return s.entries[found].key, nil
}

// Reload reads the file again and puts its keys in force. A file that
// does not read or parse leaves the keys as they were; the error is logged
// and returned.
func (k *Keys) Reload() error {
	_, err := k.reload(true)
	return err
}

// ReloadIfChanged reloads when the file's content differs from the keys'
// in force, and reports whether it did. A broken file is logged once per
// content, not at every check.
func (k *Keys) ReloadIfChanged() (bool, error) { return k.reload(false) }

func (k *Keys) reload(always bool) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, err := os.ReadFile(k.path)
	if err != nil {
		return false, k.failed(sha256.Sum256([]byte(err.Error())), fmt.Errorf("api keys: %w", err), always)
	}
	sum := sha256.Sum256(b)
	if !always && sum == k.cur.Load().file {
		return false, nil
	}
	s, _, err := parse(k.path, b)
	if err != nil {
		return false, k.failed(sum, err, always)
	}
	k.cur.Store(s)
	k.lastBad = [sha256.Size]byte{}
	k.log.Info("api keys reloaded: " + summary(s))
	return true, nil
}

// failed logs a reload that failed, unless the same failure was logged by
// the last check (always: a reload asked for is logged every time).
func (k *Keys) failed(sum [sha256.Size]byte, err error, always bool) error {
	if always || sum != k.lastBad {
		k.log.Error("api keys not reloaded: the keys in force stay", slog.String("error", err.Error()))
	}
	k.lastBad = sum
	return err
}

// Watch checks the file for changes at every tick until ctx ends (a
// ticker's channel, owned by the caller).
func (k *Keys) Watch(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			_, _ = k.ReloadIfChanged()
		}
	}
}

// summary is what a log line says of s: how many keys, and their names.
func summary(s *set) string {
	var names []string
	for _, e := range s.entries {
		if !slices.Contains(names, e.key.Name) {
			names = append(names, e.key.Name)
		}
	}
	unit := "keys"
	if len(s.entries) == 1 {
		unit = "key"
	}
	return fmt.Sprintf("%d %s (%s)", len(s.entries), unit, strings.Join(names, ", "))
}

var (
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	appIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
)

// ValidName reports whether name may name a key: 1 to 64 of A-Z a-z 0-9
// . _ - (it appears in logs and metric labels).
func ValidName(name string) bool { return namePattern.MatchString(name) }

// ValidAppID reports whether id has an appid's shape, as a key's apps
// must: 1 to 32 of A-Z a-z 0-9.
func ValidAppID(id string) bool { return appIDPattern.MatchString(id) }

// Read reads the entries of the keys file at path, checked, for listing.
func Read(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	_, entries, err := parse(path, b)
	return entries, err
}

// parse reads and checks a keys file. Every problem names the file and the
// entry (its index and name), never a digest.
func parse(path string, b []byte) (*set, []Entry, error) {
	var doc struct {
		Key []Entry `toml:"key"`
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&doc)
	if err != nil {
		return nil, nil, fmt.Errorf("api keys: %s: %w", path, err)
	}
	var errs []error
	for _, u := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("%s: unknown key %q (a [[key]] has name, sha256, scopes, apps)", path, u.String()))
	}
	s := &set{file: sha256.Sum256(b)}
	seen := map[[sha256.Size]byte]int{}
	for i, e := range doc.Key {
		at := fmt.Sprintf("%s: key[%d]", path, i+1)
		if namePattern.MatchString(e.Name) {
			at += " (" + e.Name + ")"
		} else {
			errs = append(errs, fmt.Errorf("%s.name: must be 1 to 64 of A-Z a-z 0-9 . _ -", at))
		}
		var d entry
		raw, err := hex.DecodeString(strings.ToLower(e.SHA256))
		switch {
		case err != nil || len(raw) != sha256.Size:
			errs = append(errs, fmt.Errorf("%s.sha256: must be 64 hex digits, the SHA-256 of the key (not the key)", at))
		default:
			copy(d.digest[:], raw)
			if n := seen[d.digest]; n != 0 {
				errs = append(errs, fmt.Errorf("%s.sha256: the digest of key[%d] too", at, n))
			}
			seen[d.digest] = i + 1
		}
		if len(e.Scopes) == 0 {
			errs = append(errs, fmt.Errorf("%s.scopes: at least one is required", at))
		}
		for _, sc := range e.Scopes {
			scope, err := domain.ParseScope(sc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.scopes: %v", at, err))
				continue
			}
			if !slices.Contains(d.key.Scopes, scope) {
				d.key.Scopes = append(d.key.Scopes, scope)
			}
		}
		for _, a := range e.Apps {
			if !appIDPattern.MatchString(a) {
				errs = append(errs, fmt.Errorf("%s.apps: %q is not an appid", at, a))
			}
		}
		d.key.Name, d.key.Apps = e.Name, slices.Clone(e.Apps)
		s.entries = append(s.entries, d)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return s, doc.Key, nil
}
