package wiring

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"wxbackend/domain"
)

// Stored text cannot drive the operator's terminal: users show writes
// control and format characters as escapes, so the table says what is
// stored and no ESC, C1 or bidi character reaches the screen.
func TestPrintUsers_EscapesControlCharacters(t *testing.T) {
	nasty := "\x1b[2J\x1b]0;owned\x07Eve\u009b31m\u202Egnp.exe\u200B\ttab\\"
	u := domain.User{AppID: "wx1", OpenID: "o1\x1b[A", Profile: domain.Profile{NickName: nasty}, UpdatedAt: time.Unix(0, 0)}
	var out bytes.Buffer
	if err := printUsers(OperatorCommand{Verb: "users show", Out: &out}, []domain.User{u}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202E", "\u200B", "\ttab"} {
		if strings.Contains(got, bad) {
			t.Errorf("output holds %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{`\u001B[2J`, `\u009B31m`, `\u202Egnp.exe`, `\u200B`, `\u0009tab\\`, `o1\u001B[A`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
	if printable("Ada 🐼 小程序") != "Ada 🐼 小程序" {
		t.Error("plain text changed")
	}
	if got := printable("a\xffb"); got != `a\xFFb` {
		t.Errorf("invalid UTF-8: %q", got)
	}
}
