package app

// ReceivePush takes what WeChat pushes to /wechat/push/{appid} (消息推送):
// it verifies the signature (in safe and compatible mode msg_signature over
// the encrypted text, never signature alone), refuses stale timestamps,
// decrypts with the app's current EncodingAESKey then its previous one,
// checks the appid inside, parses the event and stores it in the inbox. It
// answers only once the event is durable: WeChat then hears "success" and
// stops retrying; anything else (an error) and it retries. A worker hands
// stored events on (DeliverPush, Worker).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"wxbackend/domain"
	"wxbackend/ports"
)

// PushOptions tune the push receiver and its delivery worker; each tagged
// field is a setting.
type PushOptions struct {
	// TimestampWindow is how far a push's timestamp may be from the clock.
	TimestampWindow time.Duration `setting:"push-timestamp-window" default:"5m" usage:"WeChat's pushes whose timestamp is further than this from the server's clock are refused (replays)"`
	// StoreTimeout bounds storing an event: WeChat waits 5 s for an
	// answer, and an event not stored in time is answered an error, so
	// WeChat retries it.
	StoreTimeout time.Duration `setting:"push-store-timeout" default:"3s" usage:"longest the push receiver waits for the database before answering WeChat an error (WeChat retries; it waits 5 s)"`
	// The delivery worker's policy (see WorkerPolicy).
	Batch        int           `setting:"push-worker-batch" default:"16" usage:"events each delivery worker claims at once (each a webhook call in parallel)"`
	Lease        time.Duration `setting:"push-worker-lease" default:"1m" usage:"how long a server holds an event it delivers; another may take it after (a crashed server's)"`
	MaxAttempts  int           `setting:"push-max-attempts" default:"25" usage:"delivery attempts of an event before it is dead (wxbackend events replay brings it back)"`
	BackoffBase  time.Duration `setting:"push-backoff-base" default:"10s" usage:"wait after a failed delivery, doubled each attempt, with jitter"`
	BackoffMax   time.Duration `setting:"push-backoff-max" default:"15m" usage:"longest wait between delivery attempts"`
	PollInterval time.Duration `setting:"push-poll-interval" default:"1s" usage:"how often an idle delivery worker looks for due events"`
}

// Policy returns the worker policy of o.
func (o PushOptions) Policy() WorkerPolicy {
	return WorkerPolicy{Batch: o.Batch, Lease: o.Lease, MaxAttempts: o.MaxAttempts,
		BackoffBase: o.BackoffBase, BackoffMax: o.BackoffMax, PollInterval: o.PollInterval}
}

// PushApp is what the receiver knows of an app: its push Token and its
// EncodingAESKeys, the current first, then the previous one during a
// change of keys. No key: the app pushes in plain mode.
type PushApp struct {
	AppID string
	Token string
	Keys  []domain.PushKey
}

// PushQuery is the query of a push: signature, timestamp and nonce always;
// encrypt_type and msg_signature in safe and compatible mode; echostr for
// the verification of the URL.
type PushQuery struct {
	Signature, Timestamp, Nonce, EchoStr string
	EncryptType, MsgSignature            string
}

// Reasons a push is refused, for the metric and the log.
const (
	PushRefusedApp           = "app"           // no such app, or it has no push token
	PushRefusedSignature     = "signature"     // signature or msg_signature does not match
	PushRefusedStale         = "stale"         // timestamp outside the window
	PushRefusedPlain         = "plain"         // plain mode for an app with a key
	PushRefusedUndecryptable = "undecryptable" // no key opens it
	PushRefusedAppID         = "appid"         // it opens, for another app
	PushRefusedMalformed     = "malformed"     // not the XML or JSON of an event
	PushRefusedUnavailable   = "unavailable"   // not stored in time (WeChat retries)
)

// PushRefused is the error of a push not accepted, with its reason. Its
// message is safe to answer WeChat (and whoever else calls).
type PushRefused struct {
	Reason string
	Err    error // the cause, for the log
}

func (e *PushRefused) Error() string {
	if e.Err == nil {
		return "push refused: " + e.Reason
	}
	return "push refused: " + e.Reason + ": " + e.Err.Error()
}

func (e *PushRefused) Unwrap() error { return e.Err }

func refuse(reason string, err error) error { return &PushRefused{Reason: reason, Err: err} }

// ReceivePush verifies and stores pushes.
type ReceivePush struct {
	apps    map[string]PushApp
	inbox   ports.Inbox
	clock   ports.Clock
	observe ports.PushObserver
	opts    PushOptions
	// subscriptions and messages, if not nil, are told the subscribe
	// events stored.
	subscriptions *Subscriptions
	messages      *Messages
}

func newReceivePush(list []PushApp, inbox ports.Inbox, clock ports.Clock, observe ports.PushObserver, o PushOptions) (*ReceivePush, error) {
	r := &ReceivePush{apps: map[string]PushApp{}, inbox: inbox, clock: clock, observe: observe, opts: o}
	for _, a := range list {
		if a.AppID == "" || a.Token == "" {
			return nil, fmt.Errorf("app: push app %q without an appid or a token", a.AppID)
		}
		if _, dup := r.apps[a.AppID]; dup {
			return nil, fmt.Errorf("app: push app %q given twice", a.AppID)
		}
		r.apps[a.AppID] = a
	}
	return r, nil
}

// Verify answers WeChat's check of the URL (GET): the signature of the
// app's token, timestamp and nonce. The caller echoes echostr.
func (r *ReceivePush) Verify(appID string, q PushQuery) error {
	a, err := r.check(appID, q)
	if err != nil {
		return r.refused(appID, err)
	}
	if !domain.PushSignatureValid(q.Signature, a.Token, q.Timestamp, q.Nonce) {
		return r.refused(appID, refuse(PushRefusedSignature, nil))
	}
	return nil
}

// check finds the app and checks the timestamp.
func (r *ReceivePush) check(appID string, q PushQuery) (PushApp, error) {
	a, ok := r.apps[appID]
	if !ok {
		return PushApp{}, refuse(PushRefusedApp, nil)
	}
	ts, err := strconv.ParseInt(q.Timestamp, 10, 64)
	if err != nil {
		return PushApp{}, refuse(PushRefusedMalformed, errors.New("timestamp is not a number"))
	}
	if d := r.clock.Now().Sub(time.Unix(ts, 0)).Abs(); d > r.opts.TimestampWindow {
		return PushApp{}, refuse(PushRefusedStale, fmt.Errorf("timestamp %v off", d.Round(time.Second)))
	}
	return a, nil
}

// Handle verifies, decrypts, parses and stores a push (POST) of body in
// format f. stored is false for a duplicate of a stored event (WeChat's
// retry). Every refusal is a *PushRefused.
func (r *ReceivePush) Handle(ctx context.Context, appID string, q PushQuery, body []byte, f domain.PushFormat) (stored bool, err error) {
	e, err := r.event(appID, q, body, f)
	if err != nil {
		return false, r.refused(appID, err)
	}
	sctx, cancel := context.WithTimeout(ctx, r.opts.StoreTimeout)
	defer cancel()
	stored, err = r.inbox.Store(sctx, e)
	if err != nil {
		return false, r.refused(appID, refuse(PushRefusedUnavailable, err))
	}
	// A duplicate is applied again too (but for what counts: see
	// Subscriptions.Confirm): the first time may have failed after the
	// event was stored (WeChat retries on the error below until both are
	// done).
	if r.subscriptions != nil {
		if err := r.subscriptions.Confirm(sctx, e, !stored); err != nil {
			return false, r.refused(appID, refuse(PushRefusedUnavailable, err))
		}
	}
	if r.messages != nil {
		if err := r.messages.Reconcile(sctx, e); err != nil {
			return false, r.refused(appID, refuse(PushRefusedUnavailable, err))
		}
	}
	r.observe.Received(appID, !stored)
	return stored, nil
}

// event is the verified event of a push.
func (r *ReceivePush) event(appID string, q PushQuery, body []byte, f domain.PushFormat) (domain.PushEvent, error) {
	a, err := r.check(appID, q)
	if err != nil {
		return domain.PushEvent{}, err
	}
	outer, err := domain.ReadPushBody(body, f)
	if err != nil {
		return domain.PushEvent{}, refuse(PushRefusedMalformed, err)
	}
	fields := outer.Fields
	switch {
	case outer.Encrypt != "" || q.EncryptType == "aes":
		// Safe or compatible mode: msg_signature covers the encrypted
		// text; signature (over timestamp and nonce only) covers nothing
		// of the body, so it is not enough.
		if outer.Encrypt == "" {
			return domain.PushEvent{}, refuse(PushRefusedMalformed, errors.New("encrypt_type=aes without Encrypt"))
		}
		if !domain.PushSignatureValid(q.MsgSignature, a.Token, q.Timestamp, q.Nonce, outer.Encrypt) {
			return domain.PushEvent{}, refuse(PushRefusedSignature, errors.New("msg_signature"))
		}
		msg, err := r.open(a, outer.Encrypt)
		if err != nil {
			return domain.PushEvent{}, err
		}
		inner, err := domain.ReadPushBody(msg, f)
		if err != nil {
			return domain.PushEvent{}, refuse(PushRefusedMalformed, err)
		}
		fields = inner.Fields
	case len(a.Keys) > 0:
		// A plain push's body is signed by nothing: whoever saw one URL
		// could post any body under its signature while the timestamp
		// lasts. An app with a key takes encrypted pushes only.
		return domain.PushEvent{}, refuse(PushRefusedPlain, nil)
	default:
		if !domain.PushSignatureValid(q.Signature, a.Token, q.Timestamp, q.Nonce) {
			return domain.PushEvent{}, refuse(PushRefusedSignature, errors.New("signature"))
		}
	}
	e, err := domain.ParsePush(appID, fields, r.clock.Now())
	if err != nil {
		return domain.PushEvent{}, refuse(PushRefusedMalformed, err)
	}
	return e, nil
}

// open decrypts with each of the app's keys, current first, and checks the
// appid inside.
func (r *ReceivePush) open(a PushApp, encrypted string) ([]byte, error) {
	for _, k := range a.Keys {
		msg, to, err := domain.DecryptPush(k, encrypted)
		if err != nil {
			continue
		}
		if to != a.AppID {
			return nil, refuse(PushRefusedAppID, fmt.Errorf("for app %.32q", to))
		}
		return msg, nil
	}
	return nil, refuse(PushRefusedUndecryptable, nil)
}

// refused counts a refusal and returns it.
func (r *ReceivePush) refused(appID string, err error) error {
	var pr *PushRefused
	if errors.As(err, &pr) {
		if _, known := r.apps[appID]; !known {
			appID = "" // not a label anyone chose
		}
		r.observe.Refused(appID, pr.Reason)
	}
	return err
}

// nopPushObserver observes nothing.
type nopPushObserver struct{}

func (nopPushObserver) Received(string, bool)   {}
func (nopPushObserver) Refused(string, string)  {}
func (nopPushObserver) Delivery(string, string) {}
