package main

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func TestRun_LogoutNeedsAnOpenID(t *testing.T) {
	if err := run([]string{"logout"}); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("no openid: %v", err)
	}
	if err := run([]string{"logout", "--session-store=redis"}); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("a flag for an openid: %v", err)
	}
}

func TestRun_AvatarsNeedsCollect(t *testing.T) {
	for _, args := range [][]string{{"avatars"}, {"avatars", "delete"}} {
		if err := run(args); err == nil || !strings.Contains(err.Error(), "avatars collect") {
			t.Fatalf("%v: %v", args, err)
		}
	}
}

// WXB_MEMORY_LIMIT becomes the runtime's soft memory limit, unless it is 0
// or GOMEMLIMIT is set.
func TestLimitMemory_SetsTheLimitUnlessGOMEMLIMITIsSet(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	debug.SetMemoryLimit(math.MaxInt64)
	noEnv := func(string) (string, bool) { return "", false }
	withEnv := func(k string) (string, bool) { return "300MiB", k == "GOMEMLIMIT" }

	if limitMemory(200<<20, withEnv) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("with GOMEMLIMIT set, the limit is %d", debug.SetMemoryLimit(-1))
	}
	if limitMemory(0, noEnv) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("with 0, the limit is %d", debug.SetMemoryLimit(-1))
	}
	if !limitMemory(200<<20, noEnv) || debug.SetMemoryLimit(-1) != 200<<20 {
		t.Fatalf("with 200 MiB, the limit is %d", debug.SetMemoryLimit(-1))
	}
}
