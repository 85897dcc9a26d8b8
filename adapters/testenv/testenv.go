// Package testenv holds what tests share about the servers around them: what
// a test does when a server it needs is missing (under CI, with CI set in the
// environment, it fails; elsewhere it skips, loudly), and a stand-in for a
// server that cannot be reached (HangUp).
package testenv

import (
	"fmt"
	"net"
	"os"
	"testing"
)

// Unreachable reports that what (a server) cannot be reached, and ends the test.
func Unreachable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not reachable and CI needs it: %v", what, err)
	}
	fmt.Fprintf(os.Stderr, "\n!!! SKIPPING %s tests: %v\n!!! start it (bash .ci/run does) or point its WXB_TEST_* variable at yours; CI fails here.\n\n", what, err)
	t.Skipf("%s not reachable: %v", what, err)
}

// Get returns the environment variable name, or def when it is unset.
func Get(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// HangUp returns the address of a listener that accepts every connection and
// closes it at once: an upstream that cannot be reached, whose port stays
// taken until the test ends (closing a listener instead would free its port
// for whichever parallel test listens next).
func HangUp(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}
