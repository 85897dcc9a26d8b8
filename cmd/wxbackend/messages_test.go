package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRun_MessagesUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"messages"}, "wxbackend messages needs a command: list, retry, show"},
		{[]string{"messages", "show"}, "accepts 1 arg(s), received 0"},
		{[]string{"messages", "retry", "--json"}, "accepts 1 arg(s), received 0"}, // a flag for an id
		{[]string{"messages", "resend", "1"}, `unknown command "resend" for "wxbackend messages"`},
		{[]string{"messages", "list", "--limit", "many"}, `invalid argument "many" for "--limit"`},
		{[]string{"messages", "list", "--limit=0"}, "--limit needs a positive number"},
		{[]string{"messages", "list", "--status"}, "flag needs an argument: --status"},
	} {
		if r := runWith(nil, c.args...); r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, %q, want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// messages show of no message exits 1, with no WeChat credentials set;
// list's flags go after its arguments' place too.
func TestRun_MessagesNotFound(t *testing.T) {
	env := map[string]string{"WXB_DB_DSN": "file:" + filepath.Join(t.TempDir(), "m.db")}
	if r := runWith(env, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	if r := runWith(env, "messages", "show", "42", "--json"); r.code != 1 || r.stderr != "wxbackend: no message 42\n" {
		t.Errorf("show 42: %+v", r)
	}
	if r := runWith(env, "messages", "list", "--status", "failed", "--limit", "5", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list: %+v", r)
	}
}
