package main

import (
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
