package config

import (
	"fmt"

	"wxbackend/config/setting"
	"wxbackend/domain"
)

// Messages are the subscribe messages' settings that name templates: the
// one app's long-term templates (长期订阅), WXB_MESSAGES_LONG_TERM_TEMPLATES;
// in an apps file, each app has its own long_term_templates = […]. A
// long-term template's accept allows any number of messages until the user
// rejects or bans it (or WeChat answers 43101); the others are one-time.
// The outbox worker's policy is app.MessageOptions.
type Messages struct {
	LongTermTemplates []string `setting:"messages-long-term-templates" usage:"the one app's long-term subscribe message templates, comma-separated: an accept allows any number of messages until rejected (the others are one-time; in an apps file: long_term_templates = [...] per app)"`
}

// LongTermTemplates returns each app's long-term templates: appid →
// template IDs (none: no entry).
func (c Config) LongTermTemplates() map[string][]string {
	out := map[string][]string{}
	if len(c.Apps.list) == 0 {
		if len(c.Messages.LongTermTemplates) > 0 {
			out[c.WeChat.AppID] = c.Messages.LongTermTemplates
		}
		return out
	}
	for _, a := range c.Apps.list {
		if len(a.LongTermTemplates) > 0 {
			out[a.AppID] = a.LongTermTemplates
		}
	}
	return out
}

// check: the setting is the one app's; each template ID is one the ledger
// stores.
func (m *Messages) check(c *Config, p *setting.Problems) {
	if len(m.LongTermTemplates) > 0 && c.Apps.File != "" {
		p.Add(&m.LongTermTemplates, "several apps come from the file: set long_term_templates = [...] there")
	}
	for _, id := range m.LongTermTemplates {
		if err := checkTemplateID(id); err != nil {
			p.Add(&m.LongTermTemplates, "%v", err)
		}
	}
	if err := c.App.Messages.Policy().Valid(); err != nil {
		p.Add(&c.App.Messages.Batch, "%v", err)
	}
}

// checkTemplateID reports what is wrong with a template ID, or nil.
func checkTemplateID(id string) error {
	if id == "" || len(id) > domain.MaxTemplateIDLen {
		return fmt.Errorf("%.80q is not a template ID (1 to %d characters)", id, domain.MaxTemplateIDLen)
	}
	return nil
}
