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
	case k.TemplateID == "" || len(k.TemplateID) > MaxTemplateIDLen || !WeChatID(k.TemplateID):
		return Malformed("templateId", fmt.Sprintf("1 to %d characters of A-Z, a-z, 0-9, _ and -", MaxTemplateIDLen))
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
	// Unpaired counts the accepts credited that wait for their echo from
	// the other source (see Credit): > 0 the client's, < 0 WeChat's (one
	// of the two is always none). UnpairedAt is when the last accept was
	// told (either source; zero: never).
	Unpaired   int
	UnpairedAt time.Time
}

// Allows reports whether a message may be sent under c.
func (c Consent) Allows() bool {
	return c.Status == SubscribeAccept && (c.LongTerm || c.Remaining > 0)
}

// ConsentSource says who told the ledger of an accept: the user's client
// (its report of wx.requestSubscribeMessage's answer) or WeChat (its
// subscribe_msg_popup_event). Its value is the sign of the credits it
// leaves unpaired (see Consent.Unpaired).
type ConsentSource int

// The sources of an accept.
const (
	FromClient ConsentSource = 1
	FromWeChat ConsentSource = -1
)

// ConsentPairWindow is how close an accept of one source must be to the
// last accept credited for it to be the same tap as an unpaired accept of
// the other source. One tap is usually reported both ways within seconds
// (the page's report right after the popup closes, WeChat's push as
// quickly); five minutes leaves room for a slow network and WeChat's
// retries, and is short enough that a tap a user makes later is not taken
// for the echo of an earlier one.
const ConsentPairWindow = 5 * time.Minute

// Credit applies an accept of source from at now. One tap is told of twice,
// by the client and by WeChat, and counts once: an accept pairs with an
// unpaired accept of the other source credited within ConsentPairWindow
// (it is the same tap, which changes nothing else); any other accept is a
// tap of its own, which allows one message more (a one-time template's)
// and waits, unpaired, for its echo. Two taps count twice, whichever way
// each is told. Unpaired credits older than the window are forgotten (the
// echo was lost). The SQL ledger does the same in one statement.
func (c Consent) Credit(from ConsentSource, longTerm bool, now time.Time) Consent {
	s := int(from)
	fresh := !c.UnpairedAt.IsZero() && !c.UnpairedAt.Before(now.Add(-ConsentPairWindow))
	switch {
	case fresh && c.Unpaired*s < 0:
		// The echo of a tap counted already.
		c.Unpaired += s
	case fresh:
		c = c.credit(longTerm, now)
		if c.Unpaired*s < MaxOneTimeAllowances {
			c.Unpaired += s
		}
	default:
		c = c.credit(longTerm, now)
		c.Unpaired = s
	}
	c.UnpairedAt = now
	return c
}

// credit counts a tap.
func (c Consent) credit(longTerm bool, now time.Time) Consent {
	c.Status, c.LongTerm, c.UpdatedAt = SubscribeAccept, longTerm, now
	if !longTerm {
		c.Remaining = min(c.Remaining+1, MaxOneTimeAllowances)
	}
	return c
}

// Withdraw applies a reject or a ban, from either source: nothing is
// allowed until the user accepts again. Any other status (filter: the user
// was not asked) changes nothing; an accept is a Credit.
func (c Consent) Withdraw(status string, now time.Time) Consent {
	if status == SubscribeReject || status == SubscribeBan {
		c.Status, c.Remaining, c.UpdatedAt = status, 0, now
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
