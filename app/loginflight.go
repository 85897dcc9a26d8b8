package app

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// loginFlights makes one WeChat exchange per login code: callers with the same
// code while it runs share its result, and callers within the replay window
// after it succeeded get that result again.
type loginFlights struct {
	group  singleflight.Group
	window time.Duration

	mu        sync.Mutex
	recent    map[string]recentLogin
	nextPurge time.Time
}

type recentLogin struct {
	LoginResult
	until time.Time
}

// flightResult is a login result and whether this caller's exchange made it.
type flightResult struct {
	LoginResult
	fresh bool
}

func newLoginFlights(window time.Duration) *loginFlights {
	return &loginFlights{window: window, recent: make(map[string]recentLogin)}
}

func (f *loginFlights) do(ctx context.Context, code string, login func(context.Context, string) (LoginResult, error)) (flightResult, error) {
	if r, ok := f.lookup(code); ok {
		return flightResult{LoginResult: r}, nil
	}
	// One caller going away must not fail the others sharing the exchange.
	shared := context.WithoutCancel(ctx)
	v, err, sharedResult := f.group.Do(code, func() (any, error) {
		r, err := login(shared, code)
		if err == nil {
			f.remember(code, r)
		}
		return r, err
	})
	if err != nil {
		return flightResult{}, err
	}
	return flightResult{LoginResult: v.(LoginResult), fresh: !sharedResult}, nil
}

func (f *loginFlights) lookup(code string) (LoginResult, bool) {
	if f.window <= 0 {
		return LoginResult{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.recent[code]
	if !ok || time.Now().After(r.until) {
		return LoginResult{}, false
	}
	return r.LoginResult, true
}

func (f *loginFlights) remember(code string, r LoginResult) {
	if f.window <= 0 {
		return
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.After(f.nextPurge) { // at most once a window, so the map holds two windows' worth
		for c, old := range f.recent {
			if now.After(old.until) {
				delete(f.recent, c)
			}
		}
		f.nextPurge = now.Add(f.window)
	}
	f.recent[code] = recentLogin{LoginResult: r, until: now.Add(f.window)}
}
