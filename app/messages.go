package app

// Messages sends subscribe messages without losing them: Send checks a
// message, spends the user's consent (see Subscriptions) and stores it in
// the outbox before answering; a Worker (see Worker) with Handle as its
// handler sends it through cgi-bin/message/subscribe/send with the app's
// shared access token (refreshed and tried once more on 40001/42001/40014),
// retrying what may pass later and giving up on what never will; WeChat's
// subscribe_msg_sent_event, pushed later, is matched by msgid (Reconcile
// when it is received; Match by the push worker, which waits for a msgid
// not stored yet: WeChat may push the event before the outbox worker has
// stored the msgid of its send).
//
// WeChat's send has no idempotency key: a call whose answer was lost (a
// timeout after sending) may have sent the message, and is tried again,
// so a message is sent at least once; such attempts are counted on the
// message (Unknown) and its status is "unknown" until an answer arrives.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// sendPath is WeChat's API of subscribe messages.
const sendPath = "cgi-bin/message/subscribe/send"

// MessageObserver is told what becomes of messages, for metrics; nil: none.
type MessageObserver interface {
	// Queued counts a message accepted and stored.
	Queued(appID string)
	// Attempt counts an attempt's result: sent, retry, unknown, failed,
	// with WeChat's errcode (0 when it did not answer one).
	Attempt(appID, result string, errcode int)
	// Unmatched counts a sent event's item whose msgid no message had
	// after SentEventWait (see Messages.Match).
	Unmatched(appID string)
}

// Attempt results.
const (
	AttemptSent    = "sent"
	AttemptRetry   = "retry"
	AttemptUnknown = "unknown"
	AttemptFailed  = "failed"
)

// MessageOptions are the outbox worker's policy (see WorkerPolicy); each
// tagged field is a setting. The defaults are the push worker's.
type MessageOptions struct {
	Batch        int           `setting:"messages-batch" default:"16" usage:"subscribe messages each outbox worker claims at once (each a subscribe/send call in parallel)"`
	Lease        time.Duration `setting:"messages-lease" default:"1m" usage:"how long a server holds a message it sends; another may take it after (a crashed server's)"`
	MaxAttempts  int           `setting:"messages-max-attempts" default:"25" usage:"attempts to send a subscribe message before it is given up (dead; wxbackend messages retry brings it back)"`
	BackoffBase  time.Duration `setting:"messages-backoff-base" default:"10s" usage:"wait after a failed attempt to send a message (-1, 45009, no answer), doubled each attempt, with jitter"`
	BackoffMax   time.Duration `setting:"messages-backoff-max" default:"15m" usage:"longest wait between attempts to send a message"`
	PollInterval time.Duration `setting:"messages-poll-interval" default:"1s" usage:"how often an idle outbox worker looks for messages due"`
}

// Policy returns the worker policy of o.
func (o MessageOptions) Policy() WorkerPolicy {
	return WorkerPolicy{Batch: o.Batch, Lease: o.Lease, MaxAttempts: o.MaxAttempts,
		BackoffBase: o.BackoffBase, BackoffMax: o.BackoffMax, PollInterval: o.PollInterval}
}

// Messages accepts, sends and reconciles subscribe messages.
type Messages struct {
	apps     apps
	outbox   ports.Outbox
	consents ports.Consents
	users    ports.UserRepo
	wx       weChatAPI
	clock    ports.Clock
	observe  MessageObserver
}

// SendInput is a message as a service asks for it.
type SendInput struct {
	AppID, OpenID, TemplateID string
	// UserID names the user instead of OpenID (one of them, not both): the
	// user's unionid, which names one person across the apps of an
	// account (the X-WX-UNIONID your services see); the message goes to
	// the openid the user has in AppID.
	UserID                 string
	Page, MiniprogramState string
	Lang                   string
	Data                   map[string]string
	// IdempotencyKey names the message: the same key again (same app)
	// answers the message first stored, and stores nothing. "": a key of
	// its own (no retry of the request is recognised).
	IdempotencyKey string
}

// Send checks in, spends one of the user's allowances for its template
// and stores it to be sent. added is false when in's idempotency key names
// a message already stored: that one is returned, and nothing is spent or
// stored. A user without an allowance is KindForbidden, before anything
// is stored.
func (s *Messages) Send(ctx context.Context, in SendInput) (job ports.Job[domain.Message], added bool, err error) {
	wc, err := s.apps.lookup(in.AppID)
	if err != nil {
		return job, false, err
	}
	if in.UserID != "" {
		if in.OpenID != "" {
			return job, false, domain.Malformed("user_id", "give openid or user_id, not both")
		}
		if in.OpenID, err = s.openIDOf(ctx, wc.AppID(), in.UserID); err != nil {
			return job, false, err
		}
	}
	m := domain.Message{AppID: wc.AppID(), OpenID: in.OpenID, TemplateID: in.TemplateID, Page: in.Page,
		MiniprogramState: in.MiniprogramState, Lang: in.Lang, Data: in.Data, IdempotencyKey: in.IdempotencyKey}
	if err := m.Validate(); err != nil {
		return job, false, err
	}
	if m.IdempotencyKey == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		m.IdempotencyKey = "auto:" + hex.EncodeToString(b[:])
	} else if j, err := s.outbox.ByKey(ctx, m.AppID, m.IdempotencyKey); err == nil {
		return j, false, sameRequest(j, m)
	} else if domain.KindOf(err) != domain.KindNotFound {
		return job, false, fmt.Errorf("look up message: %w", err)
	}
	now := s.clock.Now()
	if _, err := s.consents.Update(ctx, m.Consent(), func(c domain.Consent) (domain.Consent, error) { return c.Debit(now) }); err != nil {
		return job, false, err
	}
	job, added, err = s.outbox.Add(ctx, m, now)
	if err != nil || !added {
		// Not stored, or stored already by a request of the same key at
		// the same moment: the allowance is not spent.
		s.restore(ctx, m)
	}
	if err != nil {
		return job, false, fmt.Errorf("store message: %w", err)
	}
	if added && s.observe != nil {
		s.observe.Queued(m.AppID)
	}
	if !added {
		return job, false, sameRequest(job, m)
	}
	return job, added, nil
}

// sameRequest refuses a key that already names a different message: a
// client that reuses a key by mistake would otherwise be told its new
// message was accepted while only the first one is sent.
func sameRequest(first ports.Job[domain.Message], m domain.Message) error {
	f := first.Item
	if f.OpenID == m.OpenID && f.TemplateID == m.TemplateID && f.Page == m.Page && f.MiniprogramState == m.MiniprogramState &&
		f.Lang == m.Lang && maps.Equal(f.Data, m.Data) {
		return nil
	}
	return domain.Malformed("idempotency_key", fmt.Sprintf("already names message %d, which differs from this one: use a new key", first.ID))
}

// ErrNoSuchUser answers a message to a user_id no user of the app has.
var ErrNoSuchUser = &domain.Error{Kind: domain.KindInvalidInput, Msg: "invalid parameter user_id: no user of the app has it"}

// openIDOf returns the openid in app appID of the user of unionid userID,
// or ErrNoSuchUser.
func (s *Messages) openIDOf(ctx context.Context, appID, userID string) (string, error) {
	if len(userID) > domain.MaxIDLen || !domain.WeChatID(userID) {
		return "", domain.Malformed("user_id", fmt.Sprintf("at most %d characters of A-Z, a-z, 0-9, _ and -", domain.MaxIDLen))
	}
	ids, err := s.users.ByUnionID(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("find user: %w", err)
	}
	for _, id := range ids {
		if id.AppID == appID {
			return id.OpenID, nil
		}
	}
	return "", ErrNoSuchUser
}

// restore gives back an allowance; a failure leaves the user one message
// short, which is no reason to fail what called it.
func (s *Messages) restore(ctx context.Context, m domain.Message) {
	now := s.clock.Now()
	_, _ = s.consents.Update(context.WithoutCancel(ctx), m.Consent(), func(c domain.Consent) (domain.Consent, error) {
		return c.Restore(now), nil
	})
}

// Get returns message id of app appID ("" the only app), or KindNotFound
// (for another app's too).
func (s *Messages) Get(ctx context.Context, appID string, id int64) (ports.Job[domain.Message], error) {
	wc, err := s.apps.lookup(appID)
	if err != nil {
		return ports.Job[domain.Message]{}, err
	}
	j, err := s.outbox.Get(ctx, id)
	if err != nil {
		return j, err
	}
	if j.Item.AppID != wc.AppID() {
		return ports.Job[domain.Message]{}, domain.ErrNotFound
	}
	return j, nil
}

// sendAnswer is WeChat's answer to subscribe/send; msgid is a 64-bit
// integer, read exactly (json.Number), never through a float64.
type sendAnswer struct {
	ErrCode int         `json:"errcode"`
	ErrMsg  string      `json:"errmsg"`
	MsgID   json.Number `json:"msgid"`
}

// Errcodes of subscribe/send.
const (
	errcodeBusy        = -1    // system busy: try again
	errcodeOpenID      = 40003 // touser invalid
	errcodeTemplate    = 40037 // template_id invalid
	errcodePage        = 41030 // page not in the released mini-program
	errcodeNoConsent   = 43101 // the user has not subscribed (or unsubscribed)
	errcodeQuota       = 45009 // the day's quota is spent: try again later
	errcodeInvalidData = 47003 // data breaks a keyword's rule
	errcodeDataFormat  = 47001 // the body is not what WeChat reads
)

// Handle sends job's message: the Worker's handler. nil: sent (the job is
// done); a Permanent error: refused for good (dead); another error: tried
// again with backoff.
func (s *Messages) Handle(ctx context.Context, job ports.Job[domain.Message]) error {
	m := job.Item
	switch m.Status {
	case domain.MessageSent, domain.MessageDelivered:
		return nil // sent by an attempt whose Done was not recorded (a crash): not again
	case domain.MessageFailed:
		return Permanent(fmt.Errorf("message %d failed with errcode %d", job.ID, m.ErrCode))
	}
	var resp ports.APIResponse
	err := s.wx.call(ctx, m.AppID, func(wc ports.WeChat, tok domain.AccessToken) error {
		var err error
		resp, err = wc.Forward(ctx, tok, ports.APIRequest{Method: http.MethodPost, Path: sendPath,
			ContentType: "application/json", Accept: "application/json", Body: m.SendBody()})
		return err
	})
	if err != nil {
		if domain.KindOf(err) == domain.KindUpstreamTimeout || errors.Is(err, ports.ErrAnswerLost) {
			// The request may have reached WeChat (it timed out, or the
			// connection dropped once it was sent): unknown, tried again.
			m.Unknown++
			m.Status = domain.MessageUnknown
			s.attempt(m.AppID, AttemptUnknown, 0)
			if serr := s.outbox.SetOutcome(ctx, job.ID, m.MessageOutcome); serr != nil {
				return errors.Join(err, serr)
			}
			return err
		}
		s.attempt(m.AppID, AttemptRetry, 0)
		return err
	}
	var a sendAnswer
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		s.attempt(m.AppID, AttemptRetry, 0)
		return domain.Wrap(domain.KindUpstream, fmt.Errorf("subscribe/send: HTTP %d, not JSON", resp.Status))
	}
	m.ErrCode = a.ErrCode
	switch a.ErrCode {
	case 0:
		id, err := strconv.ParseInt(a.MsgID.String(), 10, 64)
		if err != nil {
			// Sent, but its number unreadable: recorded as sent all the
			// same (sending again would send it twice).
			id = 0
		}
		m.Status, m.MsgID = domain.MessageSent, id
		s.attempt(m.AppID, AttemptSent, 0)
		return s.outbox.SetOutcome(ctx, job.ID, m.MessageOutcome)
	case errcodeNoConsent:
		now := s.clock.Now()
		if _, err := s.consents.Update(ctx, m.Consent(), func(c domain.Consent) (domain.Consent, error) { return c.Refused(now), nil }); err != nil {
			return err // tried again: the ledger must learn it
		}
		return s.fail(ctx, job.ID, m, a)
	case errcodeOpenID, errcodeTemplate, errcodePage, errcodeInvalidData, errcodeDataFormat:
		s.restore(ctx, m)
		return s.fail(ctx, job.ID, m, a)
	default:
		// errcodeBusy, errcodeQuota and anything unknown: later (a rejected
		// token was refreshed and tried again by call already).
		s.attempt(m.AppID, AttemptRetry, a.ErrCode)
		return domain.Wrap(domain.KindUpstream, fmt.Errorf("subscribe/send: errcode %d %.100q", a.ErrCode, a.ErrMsg))
	}
}

// fail records m failed for good with WeChat's answer a.
func (s *Messages) fail(ctx context.Context, id int64, m domain.Message, a sendAnswer) error {
	m.Status = domain.MessageFailed
	s.attempt(m.AppID, AttemptFailed, a.ErrCode)
	if err := s.outbox.SetOutcome(ctx, id, m.MessageOutcome); err != nil {
		return err
	}
	return Permanent(fmt.Errorf("subscribe/send: errcode %d %.100q", a.ErrCode, a.ErrMsg))
}

func (s *Messages) attempt(appID, result string, errcode int) {
	if s.observe != nil {
		s.observe.Attempt(appID, result, errcode)
	}
}

// SentEventWait is how long the push worker tries again a
// subscribe_msg_sent_event naming a msgid no message has (see Match):
// WeChat may push it before the outbox worker has stored the msgid its
// send was answered, an instant later (or once the database answers
// again). Past it, the msgid is not ours: a message sent by another
// system, or one whose answer was lost (a crash between WeChat's answer and
// the store; the message is sent again, under another msgid).
const SentEventWait = 2 * time.Minute

// Reconcile applies a subscribe_msg_sent_event when it is received: each
// item's message, found by its msgid, is delivered (ErrorCode 0) or
// failed. A msgid of no message changes nothing and is no error here: the
// event is stored in the inbox, and the push worker matches it (Match). It
// is safe to apply an event twice.
func (s *Messages) Reconcile(ctx context.Context, e domain.PushEvent) error {
	_, err := s.reconcile(ctx, e)
	return err
}

// Match is Reconcile for the push worker (DeliverPush), of an event stored
// at stored: while the event is younger than SentEventWait, a msgid of no
// message is an error, so that the worker tries the event again later
// (the outbox worker may not have stored the msgid yet); after, it is
// counted unmatched (MessageObserver.Unmatched; once per attempt past the
// wait: a webhook failing then counts it again) and is no error: the
// event stays in the inbox for whoever wants it.
func (s *Messages) Match(ctx context.Context, e domain.PushEvent, stored time.Time) error {
	unknown, err := s.reconcile(ctx, e)
	if err != nil || unknown == 0 {
		return err
	}
	if s.clock.Now().Sub(stored) < SentEventWait {
		return fmt.Errorf("subscribe_msg_sent_event: %d msgid(s) of no message yet, tried again until %s after the event", unknown, SentEventWait)
	}
	if s.observe != nil {
		for range unknown {
			s.observe.Unmatched(e.AppID)
		}
	}
	return nil
}

// reconcile applies a sent event and returns how many of its msgids no
// message has.
func (s *Messages) reconcile(ctx context.Context, e domain.PushEvent) (unknown int, err error) {
	if e.Kind != domain.PushSubscribeSent {
		return 0, nil
	}
	for _, it := range domain.SubscribeItems(e) {
		id, err := strconv.ParseInt(it.MsgID, 10, 64)
		if err != nil || id == 0 {
			continue
		}
		j, err := s.outbox.ByMsgID(ctx, e.AppID, id)
		if domain.KindOf(err) == domain.KindNotFound {
			unknown++
			continue
		}
		if err != nil {
			return unknown, fmt.Errorf("reconcile msgid: %w", err)
		}
		out := j.Item.MessageOutcome
		out.Status = domain.MessageDelivered
		if code, _ := strconv.Atoi(it.ErrorCode); code != 0 || it.ErrorCode == "" && it.ErrorStatus != "success" {
			out.Status, out.ErrCode = domain.MessageFailed, code
		}
		if err := s.outbox.SetOutcome(ctx, j.ID, out); err != nil {
			return unknown, fmt.Errorf("reconcile msgid: %w", err)
		}
	}
	return unknown, nil
}
