package config

import (
	"errors"
	"os"
	"reflect"

	"github.com/spf13/pflag"

	"wxbackend/config/setting"
)

// A Use is what a command loads the configuration for: the settings it
// uses are its flags, and only their problems stop it. Every setting is
// still read from the environment, so that a command builds the stores
// exactly as the server does.
type Use struct {
	// uses lists Config's fields (groups, such as "DB") and single
	// settings (such as "wechat-app-id") the command uses; nil: all.
	uses []string
	// command skips the rules only a serving process needs: the WeChat
	// credentials and the public addresses.
	command bool
}

var (
	// Serving is the server's, and wxbackend config's: every setting,
	// every rule.
	Serving = Use{}
	// Database is wxbackend migrate's: the user database.
	Database = Use{uses: []string{"DB", "Log"}, command: true}
	// Users is the users, sessions and avatars commands': the user
	// database, the session store, the user cache, the avatar store, and
	// which apps are served (a command's --app names one of them).
	Users = Use{uses: []string{"Apps", "wechat-app-id", "Sessions", "Memory", "Redis", "DB", "UserCache",
		"Avatars", "Disk", "S3", "Log"}, command: true}
	// Events is the events commands': the user database, which holds the
	// push inbox, and which apps are served.
	Events = Use{uses: []string{"Apps", "wechat-app-id", "DB", "Log"}, command: true}
	// Outbox is the messages commands': the user database, which holds
	// the outbox, the apps and their long-term templates (a retried message
	// spends consent again).
	Outbox = Use{uses: []string{"Apps", "wechat-app-id", "DB", "Log", "Messages"}, command: true}
	// Keys is wxbackend keys list's: the API keys file.
	Keys = Use{uses: []string{"APIKeys", "Log"}, command: true}
)

// names returns the setting names u uses (nil: all).
func (u Use) names() map[string]bool {
	if u.uses == nil {
		return nil
	}
	var c Config
	v := reflect.ValueOf(&c).Elem()
	out := map[string]bool{}
	for _, name := range u.uses {
		if g := v.FieldByName(name); g.IsValid() {
			for _, f := range setting.Fields(g.Addr().Interface()) {
				out[f.Name] = true
			}
			continue
		}
		out[name] = true
	}
	return out
}

// Flags are a command's settings as flags, over their defaults and the
// environment: Bind them to a command's flag set, parse it, then ask for
// Config.
type Flags struct {
	cfg     Config
	keep    func(name string) bool
	envErrs []error
}

// Bind reads every setting's default and environment variable (env, such
// as os.LookupEnv) and adds the settings u uses to fs as flags
// (--db-dsn), which win when given.
func Bind(fs *pflag.FlagSet, u Use, env func(string) (string, bool)) *Flags {
	f := &Flags{keep: func(string) bool { return true }}
	if names := u.names(); names != nil {
		f.keep = func(name string) bool { return names[name] }
	}
	fs.SortFlags = false // the command's own flags first, then the settings in the README's order
	f.cfg.command = u.command
	f.envErrs = setting.Prepare(&f.cfg, setting.Source{Env: env, File: os.ReadFile}, f.keep)
	for _, field := range setting.Fields(&f.cfg) {
		if !f.keep(field.Name) {
			continue
		}
		fs.Var(flagValue{field}, field.Name, field.Help())
		if field.Type() == "bool" {
			fs.Lookup(field.Name).NoOptDefVal = "true"
		}
	}
	return f
}

// Config returns the configuration once the flags are parsed, or every
// problem of the settings the command uses, each naming its variable and
// flag.
func (f *Flags) Config() (Config, error) {
	errs := f.envErrs
	if len(errs) == 0 {
		errs = setting.CheckOnly(&f.cfg, f.keep)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return f.cfg, nil
}

// flagValue is a setting as a pflag.Value.
type flagValue struct{ f setting.Field }

func (v flagValue) String() string     { return v.f.Value() }
func (v flagValue) Set(s string) error { return v.f.Set(s) }
func (v flagValue) Type() string       { return v.f.Type() }
