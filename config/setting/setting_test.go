package setting_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wxbackend/config/setting"
)

type inner struct {
	Size  int            `setting:"pool-size" default:"4" usage:"pool size"`
	Pass  setting.Secret `setting:"pass" usage:"a password"`
	Hosts []string       `setting:"hosts" default:"a,b" usage:"hosts"`
}

func (c *inner) Check(p *setting.Problems) { p.NotNegative(&c.Size) }

type outer struct {
	Inner   inner
	Wait    time.Duration `setting:"wait" default:"2s" usage:"how long"`
	On      bool          `setting:"on" usage:"on or off"`
	Runtime func()        // not a setting
}

func (c *outer) Check(p *setting.Problems) {
	if c.On && c.Wait > time.Minute {
		p.Add(&c.Wait, "at most a minute when on")
	}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// set sets the named settings of cfg as a command line parser does.
func set(t *testing.T, cfg any, flags map[string]string) {
	t.Helper()
	for _, f := range setting.Fields(cfg) {
		if v, ok := flags[f.Name]; ok {
			if err := f.Set(v); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
		}
	}
}

func TestPrepare_DefaultsEnvFlagsAndChecks(t *testing.T) {
	var c outer
	if errs := setting.Prepare(&c, setting.Source{Env: env(map[string]string{"WXB_WAIT": "50", "WXB_PASS": "p"})}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	set(t, &c, map[string]string{"on": "true", "hosts": " x , ,y"})
	if errs := setting.Check(&c); len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.Inner.Size != 4 || c.Wait != 50*time.Second || !c.On || c.Inner.Pass.Reveal() != "p" || strings.Join(c.Inner.Hosts, "|") != "x|y" {
		t.Fatalf("loaded %+v", c)
	}
	set(t, &c, map[string]string{"wait": "2m", "pool-size": "-1"})
	err := errors.Join(setting.Check(&c)...)
	for _, want := range []string{"WXB_WAIT (--wait): at most a minute when on", "WXB_POOL_SIZE (--pool-size): must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v, want %q", err, want)
		}
	}
	err = errors.Join(setting.Prepare(&c, setting.Source{Env: env(map[string]string{"WXB_WAIT": "soon", "WXB_ON": "maybe"})}, nil)...)
	for _, want := range []string{"WXB_WAIT: not a duration", "WXB_ON: not true or false"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v, want %q", err, want)
		}
	}
}

func TestFields_PrintSecretsRedacted(t *testing.T) {
	c := outer{Inner: inner{Pass: "hunter2"}}
	for _, f := range setting.Fields(&c) {
		if strings.Contains(f.Value(), "hunter2") {
			t.Fatalf("%s printed its secret", f.Name)
		}
		if f.Name == "pass" && (!f.Secret || f.Value() != "[redacted]") {
			t.Fatalf("pass: %+v %q", f, f.Value())
		}
	}
}

func TestProblems_AddPanicsOnAFieldThatIsNoSetting(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	var c struct{ X int }
	setting.Check(&struct {
		Bad badChecker
	}{Bad: badChecker{&c.X}})
}

type badChecker struct{ x *int }

func (b *badChecker) Check(p *setting.Problems) { p.Add(b.x, "wrong") }

func TestFields_PanicsOnATypeNoSettingCanHold(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	setting.Fields(&struct {
		M map[string]int `setting:"m"`
	}{})
}

func TestMarkdown_OneRowPerSetting(t *testing.T) {
	md := setting.Markdown(&outer{})
	if n := strings.Count(md, "\n| `WXB_"); n != 5 {
		t.Fatalf("%d rows:\n%s", n, md)
	}
	if !strings.Contains(md, "| `WXB_WAIT` (`--wait`) | `2s` | how long |") {
		t.Fatalf("no row for wait:\n%s", md)
	}
}

// Prepare reads defaults and the environment as Load does, leaving flags to
// another parser; CheckOnly reports only the problems of the settings kept.
func TestPrepareAndCheckOnly(t *testing.T) {
	var c outer
	errs := setting.Prepare(&c, setting.Source{Env: env(map[string]string{"WXB_WAIT": "2m", "WXB_POOL_SIZE": "-1", "WXB_ON": "maybe", "WXB_HOSTS_FILE": "/x"})}, nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "WXB_ON: not true or false") {
		t.Fatalf("Prepare: %v", errs)
	}
	if c.Wait != 2*time.Minute || c.Inner.Size != -1 || strings.Join(c.Inner.Hosts, "|") != "a|b" {
		t.Fatalf("prepared %+v", c)
	}
	if errs := setting.Prepare(&c, setting.Source{Env: env(map[string]string{"WXB_ON": "maybe"})}, func(n string) bool { return n != "on" }); len(errs) != 0 {
		t.Fatalf("Prepare without on: %v", errs)
	}
	c.Wait, c.Inner.Size, c.On = 2*time.Minute, -1, true
	if got := setting.Check(&c); len(got) != 2 {
		t.Fatalf("Check: %v", got)
	}
	got := setting.CheckOnly(&c, func(name string) bool { return name == "wait" })
	if len(got) != 1 || !strings.Contains(got[0].Error(), "WXB_WAIT (--wait)") {
		t.Fatalf("CheckOnly(wait): %v", got)
	}
	for _, f := range setting.Fields(&c) {
		want := map[string]string{"pool-size": "int", "pass": "string", "hosts": "list", "wait": "duration", "on": "bool"}[f.Name]
		if f.Type() != want {
			t.Errorf("%s: type %s, want %s", f.Name, f.Type(), want)
		}
	}
}
