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
// comes by to purge it: one sweeper goroutine runs while results are held
// (none when none are), instead of a timer per login.
type loginFlights struct {
	group  singleflight.Group
	window time.Duration
	clock  ports.Clock

	mu       sync.Mutex
	recent   map[codeDigest]*recentLogin
	queue    []heldLogin // what recent holds, in the order it ends (every result lives one window)
	sweeping bool        // the sweeper runs
}

// heldLogin is a result in the sweeper's queue: dropped at end (real time),
// unless the code was remembered again since.
type heldLogin struct {
	key codeDigest
	r   *recentLogin
	end time.Time
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
	// Real time, not the injected clock, for the sweeper: it bounds how long
	// the raw token stays in memory. Expiry as the use case sees it is
	// checked in lookup.
	end := time.Now().Add(f.window)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recent[key] = r
	f.queue = append(f.queue, heldLogin{key: key, r: r, end: end})
	if !f.sweeping {
		f.sweeping = true
		go f.sweep()
	}
}

// sweepTicks is how many times per window the sweeper looks: a result is
// dropped at most a quarter of a window after it ends.
const sweepTicks = 4

// sweep drops the results whose window ended, until none is held.
func (f *loginFlights) sweep() {
	t := time.NewTicker(max(f.window/sweepTicks, time.Millisecond))
	defer t.Stop()
	for now := range t.C {
		if f.forgetEnded(now) == 0 {
			return
		}
	}
}

// forgetEnded drops the results whose window ended by now and returns how
// many are still held; at 0 the sweeper stops (the next result starts one).
func (f *loginFlights) forgetEnded(now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for ; n < len(f.queue) && !now.Before(f.queue[n].end); n++ {
		h := f.queue[n]
		if f.recent[h.key] == h.r {
			delete(f.recent, h.key)
		}
		f.queue[n] = heldLogin{} // the token goes with it
	}
	f.queue = f.queue[n:]
	if len(f.queue) == 0 {
		f.queue, f.sweeping = nil, false
	}
	return len(f.queue)
}

// held returns how many login results are held (for tests).
func (f *loginFlights) held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.recent)
}
