package app

// Subscriptions keeps the consent ledger of subscribe messages (see
// domain.Consent): what the user's client reports wx.requestSubscribeMessage
// answered (POST /api/v1/me/subscriptions), and what WeChat pushes about
// the same popups and the settings page (subscribe_msg_popup_event,
// subscribe_msg_change_event; ReceivePush hands them here once stored).
//
// One tap in the popup is told both ways, by the client and by WeChat: it
// allows one message, whichever arrives first, and two taps allow two (see
// domain.Consent.Credit, which pairs the two sources' accepts within
// domain.ConsentPairWindow). Either source alone is enough: a report lost
// on the way is made up for by the other.

import (
	"context"
	"fmt"
	"slices"
	"time"

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
		c, err := s.answer(ctx, s.key(sess.AppID, sess.OpenID, id), domain.FromClient, answers[id], now)
		if err != nil {
			return nil, fmt.Errorf("record consent: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// answer applies one answer of source from.
func (s *Subscriptions) answer(ctx context.Context, k domain.ConsentKey, from domain.ConsentSource, status string, now time.Time) (domain.Consent, error) {
	if status == domain.SubscribeAccept {
		return s.consents.Credit(ctx, k, from, s.longTerm[k.AppID][k.TemplateID], now)
	}
	return s.consents.Update(ctx, k, func(c domain.Consent) (domain.Consent, error) {
		return c.Withdraw(status, now), nil
	})
}

// Confirm applies what a pushed event says of the user's consent: the
// answers of a popup or of the settings page. Other events, and items
// without a user or with an unknown answer, change nothing. again marks an
// event stored before (WeChat's retry): its accepts are not credited again
// (the first time may have credited them; if it failed half way, the
// client's report of the tap still counts it), its rejects and bans are
// applied again (that is safe).
func (s *Subscriptions) Confirm(ctx context.Context, e domain.PushEvent, again bool) error {
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
		if again && it.Status == domain.SubscribeAccept {
			continue
		}
		if _, err := s.answer(ctx, k, domain.FromWeChat, it.Status, now); err != nil {
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
