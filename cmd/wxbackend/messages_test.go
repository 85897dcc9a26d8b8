package main

import (
	"strings"
	"testing"
)

func TestRun_MessagesUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"messages"}, "usage"},
		{[]string{"messages", "show"}, "usage"},
		{[]string{"messages", "retry", "--json"}, "usage"}, // a flag for an id
		{[]string{"messages", "resend", "1"}, "usage"},
		{[]string{"messages", "list", "--limit", "many"}, "--limit needs a positive number"},
		{[]string{"messages", "list", "--limit=0"}, "--limit needs a positive number"},
		{[]string{"messages", "list", "--status"}, "--status needs a value"},
	} {
		if err := run(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}
