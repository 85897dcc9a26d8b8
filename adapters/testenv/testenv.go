// Package testenv decides what a test does when a server it needs is missing:
// under CI (CI set in the environment) it fails, elsewhere it skips, loudly.
package testenv

import (
	"fmt"
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
