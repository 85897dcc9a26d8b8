package app

// Subscriptions keeps the consent ledger of subscribe messages (see
// domain.Consent): what the user's client reports wx.requestSubscribeMessage
// answered (POST /api/v1/me/subscriptions), and what WeChat pushes about
// the same popups and the settings page (subscribe_msg_popup_event,
// subscribe_msg_change_event; ReceivePush hands them here once stored).

import (
	"context"
	"fmt"
	"slices"

	"wxbackend/domain"
	"wxbackend/ports"
)

// MaxSubscribeAnswers bounds the templates of one report: WeChat asks about
// at most 3 per popup; a few popups' answers may be reported together.
const MaxSubscribeAnswers = 20

// Subscriptions records users' consent to subscribe messages.
type Subscriptions struct {
	consents ports.Consents
	clock    ports.Clock
	longTerm map[string]map[string]bool // appid → long-term template IDs
}

func newSubscriptions(c ports.Consents, clock ports.Clock, longTerm map[string][]string) *Subscriptions {
	s := &Subscriptions{consents: c, clock: clock, longTerm: map[string]map[string]bool{}}
	for app, ids := range longTerm {
		s.longTerm[app] = map[string]bool{}
		for _, id := range ids {
			s.longTerm[app][id] = true
		}
	}
	return s
}

// Record applies the answers (template ID → accept, reject, ban or filter)
// the session's user gave, and returns the resulting consents in order of
// template ID. Every answer is checked before any is recorded: a report
// with one bad answer records nothing.
func (s *Subscriptions) Record(ctx context.Context, sess domain.Session, answers map[string]string) ([]domain.Consent, error) {
	if len(answers) == 0 || len(answers) > MaxSubscribeAnswers {
		return nil, domain.Malformed("body", fmt.Sprintf("1 to %d templates, each with its answer", MaxSubscribeAnswers))
	}
	ids := make([]string, 0, len(answers))
	for id, status := range answers {
		if err := s.key(sess.AppID, sess.OpenID, id).Validate(); err != nil {
			return nil, err
		}
		if !domain.ValidSubscribeStatus(status) {
			return nil, domain.Malformed("templateId", "an answer is accept, reject, ban or filter")
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	now := s.clock.Now()
	out := make([]domain.Consent, 0, len(ids))
	for _, id := range ids {
		longTerm := s.longTerm[sess.AppID][id]
		c, err := s.consents.Update(ctx, s.key(sess.AppID, sess.OpenID, id), func(c domain.Consent) (domain.Consent, error) {
			return c.Record(answers[id], longTerm, now), nil
		})
		if err != nil {
			return nil, fmt.Errorf("record consent: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Confirm applies what a pushed event says of the user's consent: the
// answers of a popup or of the settings page. Other events, and items
// without a user or with an unknown answer, change nothing. It is safe to
// apply an event twice (WeChat's retries; see domain.Consent.Confirm).
func (s *Subscriptions) Confirm(ctx context.Context, e domain.PushEvent) error {
	if e.Kind != domain.PushSubscribePopup && e.Kind != domain.PushSubscribeChange {
		return nil
	}
	if e.FromUser == "" {
		return nil
	}
	now := s.clock.Now()
	for _, it := range domain.SubscribeItems(e) {
		if !domain.ValidSubscribeStatus(it.Status) {
			continue
		}
		k := s.key(e.AppID, e.FromUser, it.TemplateID)
		if k.Validate() != nil {
			continue
		}
		longTerm := s.longTerm[e.AppID][it.TemplateID]
		if _, err := s.consents.Update(ctx, k, func(c domain.Consent) (domain.Consent, error) {
			return c.Confirm(it.Status, longTerm, now), nil
		}); err != nil {
			return fmt.Errorf("confirm consent: %w", err)
		}
	}
	return nil
}

// Get returns the consent of a user of an app to a template.
func (s *Subscriptions) Get(ctx context.Context, appID, openID, templateID string) (domain.Consent, error) {
	k := s.key(appID, openID, templateID)
	if err := k.Validate(); err != nil {
		return domain.Consent{}, err
	}
	return s.consents.Get(ctx, k)
}

func (s *Subscriptions) key(appID, openID, templateID string) domain.ConsentKey {
	return domain.ConsentKey{AppID: appID, OpenID: openID, TemplateID: templateID}
}
