package domain

// A user's consent to an app's subscribe messages (订阅消息), per template:
// what wx.requestSubscribeMessage answered the mini-program and what WeChat
// pushed (subscribe_msg_popup_event, subscribe_msg_change_event). WeChat
// itself enforces consent (errcode 43101 for a send without one); the
// ledger lets a server refuse a message before it is stored instead of
// after it failed, and counts one-time allowances: each "accept" of a
// one-time template allows one message; a long-term template's allows any
// number until the user turns it off.

import (
	"fmt"
	"time"
)

// The statuses wx.requestSubscribeMessage answers per template, which
// WeChat's subscribe events carry as SubscribeStatusString.
const (
	SubscribeAccept = "accept" // the user agreed
	SubscribeReject = "reject" // the user refused
	SubscribeBan    = "ban"    // WeChat banned the template (a complaint)
	SubscribeFilter = "filter" // WeChat filtered the template out (a title repeated): no answer of the user
)

// ValidSubscribeStatus reports whether s is one of the statuses.
func ValidSubscribeStatus(s string) bool {
	switch s {
	case SubscribeAccept, SubscribeReject, SubscribeBan, SubscribeFilter:
		return true
	}
	return false
}

// MaxTemplateIDLen bounds a template ID (WeChat's are 43 characters).
const MaxTemplateIDLen = 128

// MaxOneTimeAllowances bounds the sends one template's accepts pile up: a
// client reporting "accept" in a loop gets no unbounded credit (WeChat's
// own count would refuse the surplus with 43101 anyway).
const MaxOneTimeAllowances = 100

// ConsentKey names a ledger entry: a user of an app and a template.
type ConsentKey struct {
	AppID, OpenID, TemplateID string
}

// Validate checks the key's parts are present and bounded.
func (k ConsentKey) Validate() error {
	switch {
	case k.AppID == "" || k.OpenID == "":
		return Malformed("openid", "required")
	case k.TemplateID == "" || len(k.TemplateID) > MaxTemplateIDLen:
		return Malformed("templateId", fmt.Sprintf("1 to %d characters", MaxTemplateIDLen))
	}
	return nil
}

// Consent is the ledger's entry of a ConsentKey. The zero Consent (no
// answer recorded) allows nothing.
type Consent struct {
	ConsentKey
	// Status is the last answer recorded ("" for none).
	Status string
	// LongTerm marks a long-term template (长期订阅): an accept allows any
	// number of messages.
	LongTerm bool
	// Remaining is the one-time allowances left (a one-time template's).
	Remaining int
	UpdatedAt time.Time
}

// Allows reports whether a message may be sent under c.
func (c Consent) Allows() bool {
	return c.Status == SubscribeAccept && (c.LongTerm || c.Remaining > 0)
}

// Record applies an answer the user's client reported: an accept of a
// one-time template adds one allowance (each popup accepted is one
// message); reject and ban take every allowance away; filter changes
// nothing (the user was not asked).
func (c Consent) Record(status string, longTerm bool, now time.Time) Consent {
	switch status {
	case SubscribeAccept:
		c.Status, c.LongTerm, c.UpdatedAt = status, longTerm, now
		if !longTerm {
			c.Remaining = min(c.Remaining+1, MaxOneTimeAllowances)
		}
	case SubscribeReject, SubscribeBan:
		c.Status, c.Remaining, c.UpdatedAt = status, 0, now
	}
	return c
}

// Confirm applies an answer WeChat pushed (subscribe_msg_popup_event or
// subscribe_msg_change_event). The client usually reports the same popup
// too, and WeChat may push an event twice, so an accept here grants at
// least one allowance rather than one more: the same acceptance reported
// both ways, or pushed again, is counted once. Reject and ban zero it.
func (c Consent) Confirm(status string, longTerm bool, now time.Time) Consent {
	if status != SubscribeAccept {
		return c.Record(status, longTerm, now)
	}
	c.Status, c.LongTerm, c.UpdatedAt = status, longTerm, now
	if !longTerm {
		c.Remaining = max(c.Remaining, 1)
	}
	return c
}

// Debit spends one allowance for a message accepted for sending; a
// consent that does not allow it is KindForbidden.
func (c Consent) Debit(now time.Time) (Consent, error) {
	if !c.Allows() {
		return c, &Error{Kind: KindForbidden, Msg: "the user has not accepted this template",
			Err: fmt.Errorf("template %.64q: status %q, %d left", c.TemplateID, c.Status, c.Remaining)}
	}
	if !c.LongTerm {
		c.Remaining--
	}
	c.UpdatedAt = now
	return c, nil
}

// Restore gives back the allowance of a message that failed for good for
// a reason other than the consent (see Refused).
func (c Consent) Restore(now time.Time) Consent {
	if c.Status == SubscribeAccept && !c.LongTerm {
		c.Remaining = min(c.Remaining+1, MaxOneTimeAllowances)
		c.UpdatedAt = now
	}
	return c
}

// Refused applies WeChat's 43101 (the user has not subscribed): whatever
// the ledger believed, nothing is allowed until the user accepts again.
func (c Consent) Refused(now time.Time) Consent {
	c.Status, c.Remaining, c.UpdatedAt = SubscribeReject, 0, now
	return c
}
