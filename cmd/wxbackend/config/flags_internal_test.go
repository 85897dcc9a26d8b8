package config

import (
	"reflect"
	"testing"

	"wxbackend/config/setting"
)

// Each command's Use names groups of Config and settings that exist: a
// misspelt one would silently leave its settings out of the command.
func TestUses_NameGroupsAndSettingsThatExist(t *testing.T) {
	var c Config
	settings := map[string]bool{}
	for _, f := range setting.Fields(&c) {
		settings[f.Name] = true
	}
	for name, u := range map[string]Use{"Database": Database, "Users": Users, "Events": Events, "Outbox": Outbox, "Keys": Keys} {
		if len(u.uses) == 0 || !u.command {
			t.Errorf("%s: %+v", name, u)
		}
		for _, g := range u.uses {
			if !reflect.ValueOf(c).FieldByName(g).IsValid() && !settings[g] {
				t.Errorf("%s uses %q, which is neither a group of Config nor a setting", name, g)
			}
		}
	}
	if got := Users.names(); !got["db-dsn"] || !got["wechat-app-id"] || got["wechat-app-secret"] || got["http-addr"] {
		t.Errorf("Users' settings: %v", got)
	}
}
