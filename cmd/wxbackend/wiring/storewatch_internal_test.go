package wiring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wxbackend/domain"
)

// A store that stops answering is logged once, again once a minute while
// it does not, and once when it answers again; the other store, answering,
// is not logged at all.
func TestWatchStores_LogsTheChangesOnly(t *testing.T) {
	var mu sync.Mutex
	var failure error
	refused := domain.Wrap(domain.KindUnavailable, fmt.Errorf("postgres ping: dial tcp 127.0.0.1:1: %w", syscall.ECONNREFUSED))
	db := func(context.Context) error { mu.Lock(); defer mu.Unlock(); return failure }
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tick := make(chan time.Time)
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	pinged := make(chan struct{}) // the last store's ping: a tick's work is done
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchStores(ctx, log, []watchedStore{{name: "user database (postgres)", setting: "WXB_DB_DSN", ping: db},
			{name: "Redis (sessions)", setting: "WXB_REDIS_ADDRS", ping: func(context.Context) error { pinged <- struct{}{}; return nil }}}, tick, clock)
	}()
	<-pinged // the check at start
	step := func(d time.Duration, err error) {
		mu.Lock()
		now, failure = now.Add(d), err
		mu.Unlock()
		tick <- now
		<-pinged
	}
	step(5*time.Second, nil)
	step(5*time.Second, refused)
	for i := 0; i < 11; i++ { // 55 s more: no reminder yet
		step(5*time.Second, refused)
	}
	step(10*time.Second, refused) // a minute and more since the first line
	step(5*time.Second, nil)
	cancel()
	<-done

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), logs.String())
	}
	for i, want := range []string{
		`level=ERROR msg="store not answering: requests that need it answer code 9" store="user database (postgres)" setting=WXB_DB_DSN class=connection_refused`,
		`level=ERROR msg="store still not answering" store="user database (postgres)" setting=WXB_DB_DSN for=1m5s class=connection_refused`,
		`level=INFO msg="store answering again" store="user database (postgres)" after=1m10s`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s\nwant %s", i+1, lines[i], want)
		}
	}
}

func TestErrorClass(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("x: %w", syscall.ECONNREFUSED):                          "connection_refused",
		fmt.Errorf("x: %w", syscall.ECONNRESET):                            "connection_reset",
		fmt.Errorf("x: %w", context.DeadlineExceeded):                      "timeout",
		domain.Wrap(domain.KindInternal, errors.New("syntax error at 42")): "internal",
	} {
		if got := errorClass(err); got != want {
			t.Errorf("%v: %s, want %s", err, got, want)
		}
	}
}
