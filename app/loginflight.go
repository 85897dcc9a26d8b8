package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"wxbackend/domain"
	"wxbackend/ports"
)

// loginFlights makes one WeChat exchange per login code: callers with the same
// code while it runs share its result, and callers within the replay window
// after it succeeded get that result again, but only when they are the client
// that sent the code first. Anyone else holding the code gets code 3, as
// WeChat would answer them.
//
// Codes are kept only as digests. The raw token of a result is the one secret
// held here; it is dropped when the window ends, whether or not another login
// comes by to purge it.
type loginFlights struct {
	group  singleflight.Group
	window time.Duration
	clock  ports.Clock

	mu     sync.Mutex
	recent map[codeDigest]*recentLogin
}

type codeDigest [sha256.Size]byte

type recentLogin struct {
	LoginResult
	client ClientDigest
	until  time.Time
}

// ClientDigest identifies the client that sent a login code: a digest of what
// the transport knows of it (its address and User-Agent). Only the client that
// sent a code first may have its result replayed.
type ClientDigest [sha256.Size]byte

// flightResult is a login result and whether this caller's exchange made it.
type flightResult struct {
	LoginResult
	fresh bool
}

// flight is what one exchange yields to every caller that shared it.
type flight struct {
	LoginResult
	client ClientDigest
}

var errReplayedElsewhere = domain.Wrap(domain.KindBadCode, errors.New("login code sent again by another client"))

func newLoginFlights(window time.Duration, clock ports.Clock) *loginFlights {
	return &loginFlights{window: window, clock: clock, recent: make(map[codeDigest]*recentLogin)}
}

// do runs login for code (the app's id and the code, as one key), once.
func (f *loginFlights) do(ctx context.Context, code string, client ClientDigest, login func(context.Context) (LoginResult, error)) (flightResult, error) {
	key := codeDigest(sha256.Sum256([]byte(code)))
	if r, ok := f.lookup(key); ok {
		if r.client != client {
			return flightResult{}, errReplayedElsewhere
		}
		return flightResult{LoginResult: r.LoginResult}, nil
	}
	// One caller going away must not fail the others sharing the exchange.
	shared := context.WithoutCancel(ctx)
	v, err, sharedResult := f.group.Do(string(key[:]), func() (any, error) {
		r, err := login(shared)
		if err != nil {
			return nil, err
		}
		f.remember(key, client, r)
		return flight{LoginResult: r, client: client}, nil
	})
	if err != nil {
		return flightResult{}, err
	}
	fl := v.(flight)
	if fl.client != client {
		return flightResult{}, errReplayedElsewhere
	}
	return flightResult{LoginResult: fl.LoginResult, fresh: !sharedResult}, nil
}

func (f *loginFlights) lookup(key codeDigest) (recentLogin, bool) {
	if f.window <= 0 {
		return recentLogin{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recent[key]
	if !ok || !f.clock.Now().Before(r.until) {
		return recentLogin{}, false
	}
	return *r, true
}

func (f *loginFlights) remember(key codeDigest, client ClientDigest, res LoginResult) {
	if f.window <= 0 {
		return
	}
	r := &recentLogin{LoginResult: res, client: client, until: f.clock.Now().Add(f.window)}
	f.mu.Lock()
	f.recent[key] = r
	f.mu.Unlock()
	// Real time, not the injected clock: this bounds how long the raw token
	// stays in memory. Expiry as the use case sees it is checked in lookup.
	time.AfterFunc(f.window, func() { f.forget(key, r) })
}

// forget drops r, unless the code was remembered again since.
func (f *loginFlights) forget(key codeDigest, r *recentLogin) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recent[key] == r {
		delete(f.recent, key)
	}
}

// held returns how many login results are held (for tests).
func (f *loginFlights) held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.recent)
}
