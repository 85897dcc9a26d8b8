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
