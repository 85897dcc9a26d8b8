package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"wxbackend/domain"
)

// Subscribe messages (订阅消息) as WeChat enforces them: a user's tap in
// wx.requestSubscribeMessage (POST /sandbox/subscribe, or Subscribe)
// allows the app's server messages of a template to that user: one per
// accept of a one-time template, any number for a long-term template until
// the user rejects it. cgi-bin/message/subscribe/send without an allowance
// answers 43101; a send debits one and answers a msgid, numbered above
// 2^53 so that a caller reading it through a float64 gets it wrong. The
// popup's answer is pushed at once (subscribe_msg_popup_event) when the
// tap names the server's push URL; a sent message's result
// (subscribe_msg_sent_event) is pushed SentEventDelay after the send when
// the sandbox knows the server's push URL (PushApp.URL, SetPushURL), as
// WeChat pushes it shortly after; otherwise, and for what that push did not
// deliver, by POST /sandbox/subscribe/push (for tests that want control).

// SentEventDelay is how long after a send the sandbox pushes its sent
// event on its own: after the send's answer has reached the server, as
// WeChat's arrives (a server must cope with the event first all the same).
const SentEventDelay = 50 * time.Millisecond

// FirstMsgID is the msgid of the sandbox's first message; the next ones
// follow at odd offsets (every one of them beyond float64's exact range).
const FirstMsgID int64 = 1<<53 + 1

// ErrBadSubscribe is a tap the sandbox cannot apply.
var ErrBadSubscribe = errors.New("sandbox: a tap names a user (or an openid) and 1 to 20 templates, each accept, reject, ban or filter")

// allowance is what a user allowed of a template.
type allowance struct {
	status    string // the last answer
	remaining int    // one-time messages left
}

// SentMessage is a message the sandbox accepted for sending.
type SentMessage struct {
	MsgID      int64  `json:"msgid"`
	OpenID     string `json:"openid"`
	TemplateID string `json:"templateId"`
	// Duplicate tells whether the same message (user, template, page and
	// data) had been sent before: WeChat has no idempotency key, so a
	// caller that sends again after a lost answer sends it twice.
	Duplicate bool      `json:"duplicate"`
	At        time.Time `json:"at"` // when it was sent, on the sandbox's clock
	pushed    bool
}

// subscribeState is the sandbox's subscribe messages; guarded by Sandbox.mu.
type subscribeState struct {
	allow    map[[2]string]*allowance // (openid, template)
	longTerm map[string]bool          // the app's long-term templates (WeChat's console)
	sent     []SentMessage
	bodies   map[string]bool // what was sent, to tell duplicates
	refused  int             // sends answered 43101
	n        int64           // messages numbered so far
	pushURL  string          // where sent events are pushed on their own ("": not)
	// pushing serializes the pushes of sent events (PushSent), so that
	// none is pushed twice; not guarded by Sandbox.mu.
	pushing *sync.Mutex
}

// SubscribeStats counts the sandbox's subscribe sends.
type SubscribeStats struct {
	Sent       int `json:"sent"`       // answered a msgid
	Refused    int `json:"refused"`    // answered 43101
	Duplicates int `json:"duplicates"` // sent, and sent before (see SentMessage.Duplicate)
}

// SetLongTerm makes the templates long-term ones (长期订阅), as WeChat's
// console does for apps of the categories allowed them.
func (s *Sandbox) SetLongTerm(templateIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subsLocked()
	for _, id := range templateIDs {
		s.subs.longTerm[id] = true
	}
}

func (s *Sandbox) subsLocked() *subscribeState {
	if s.subs.allow == nil {
		s.subs.allow, s.subs.longTerm, s.subs.bodies = map[[2]string]*allowance{}, map[string]bool{}, map[string]bool{}
		s.subs.pushURL, s.subs.pushing = s.push.app.URL, &sync.Mutex{}
	}
	return &s.subs
}

// SetPushURL sets the server's push URL (PushApp.URL), where the sandbox
// pushes sent events on its own; "" stops it.
func (s *Sandbox) SetPushURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subsLocked().pushURL = url
}

// Subscribe is the tap of the user of openID in a subscription popup:
// answers maps template IDs to accept, reject, ban or filter.
func (s *Sandbox) Subscribe(openID string, answers map[string]string) error {
	if err := checkTap(openID, answers); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.subsLocked()
	for id, a := range answers {
		k := [2]string{openID, id}
		al := st.allow[k]
		if al == nil {
			al = &allowance{}
			st.allow[k] = al
		}
		switch a {
		case domain.SubscribeAccept:
			al.status = a
			if !st.longTerm[id] {
				al.remaining++
			}
		case domain.SubscribeReject, domain.SubscribeBan:
			al.status, al.remaining = a, 0
		}
	}
	return nil
}

// checkTap checks a tap names a user and 1 to 20 templates, each with an answer.
func checkTap(openID string, answers map[string]string) error {
	if openID == "" || len(answers) == 0 || len(answers) > 20 {
		return ErrBadSubscribe
	}
	for id, a := range answers {
		if id == "" || !domain.ValidSubscribeStatus(a) {
			return ErrBadSubscribe
		}
	}
	return nil
}

// Allowed reports how many messages of templateID the user of openID
// allows: -1 for any number (a long-term template accepted).
func (s *Sandbox) Allowed(openID, templateID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allowedLocked(openID, templateID)
}

func (s *Sandbox) allowedLocked(openID, templateID string) int {
	st := s.subsLocked()
	al := st.allow[[2]string{openID, templateID}]
	switch {
	case al == nil || al.status != domain.SubscribeAccept:
		return 0
	case st.longTerm[templateID]:
		return -1
	}
	return al.remaining
}

// SentMessages returns the messages the sandbox accepted, in order.
func (s *Sandbox) SentMessages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs.sent)
}

// SubscribeStats returns the counts of subscribe sends.
func (s *Sandbox) SubscribeStats() SubscribeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SubscribeStats{Sent: len(s.subs.sent), Refused: s.subs.refused}
	for _, m := range s.subs.sent {
		if m.Duplicate {
			st.Duplicates++
		}
	}
	return st
}

// sendRequest is the body of subscribe/send.
type sendRequest struct {
	ToUser           string          `json:"touser"`
	TemplateID       string          `json:"template_id"`
	Page             string          `json:"page"`
	MiniprogramState string          `json:"miniprogram_state"`
	Lang             string          `json:"lang"`
	Data             json.RawMessage `json:"data"`
}

// serveSubscribeSend is POST cgi-bin/message/subscribe/send: a msgid for
// a message the user allowed, debiting the allowance; 43101 otherwise.
func (s *Sandbox) serveSubscribeSend(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.authorizeLocked(r); !ok {
		writeAPI(w, a)
		return
	}
	switch {
	case err != nil:
		writeAPI(w, apiError(47001, "data format error"))
		return
	case req.ToUser == "":
		writeAPI(w, apiError(40003, "invalid openid"))
		return
	case req.TemplateID == "":
		writeAPI(w, apiError(40037, "invalid template_id"))
		return
	}
	st := s.subsLocked()
	left := s.allowedLocked(req.ToUser, req.TemplateID)
	if left == 0 {
		st.refused++
		writeAPI(w, apiError(43101, "user refuse to accept the msg"))
		return
	}
	if left > 0 {
		st.allow[[2]string{req.ToUser, req.TemplateID}].remaining--
	}
	var data bytes.Buffer
	if json.Compact(&data, req.Data) != nil {
		data.Reset()
		data.Write(req.Data)
	}
	body := req.ToUser + "\x00" + req.TemplateID + "\x00" + req.Page + "\x00" + data.String()
	id := FirstMsgID + 2*st.n
	st.n++
	st.sent = append(st.sent, SentMessage{MsgID: id, OpenID: req.ToUser, TemplateID: req.TemplateID, Duplicate: st.bodies[body], At: s.now()})
	st.bodies[body] = true
	writeAPI(w, apiAnswer{"errcode": 0, "errmsg": "ok", "msgid": id})
	if url := st.pushURL; url != "" && s.push.app.Token != "" {
		// What this push does not deliver stays for POST
		// /sandbox/subscribe/push.
		time.AfterFunc(SentEventDelay, func() { _, _ = s.pushSent(context.Background(), SubscribePushRequest{URL: url}, id) })
	}
}

// SubscribeRequest is a tap in wx.requestSubscribeMessage, for POST
// /sandbox/subscribe.
type SubscribeRequest struct {
	AppID string `json:"appid,omitempty"` // which app (a Multi's), default the first
	// User is the sandbox user who taps; OpenID names one directly
	// instead (a user the sandbox need not know).
	User   string `json:"user,omitempty"`
	OpenID string `json:"openid,omitempty"`
	// Templates maps each template ID to the answer: accept, reject, ban
	// or filter.
	Templates map[string]string `json:"templates"`
	// LongTerm makes these templates long-term ones first (SetLongTerm).
	LongTerm []string `json:"longTerm,omitempty"`
	// URL, when set, is the server's push URL (/wechat/push/{appid}):
	// the answers are pushed there as subscribe_msg_popup_event.
	URL    string   `json:"url,omitempty"`
	Mode   PushMode `json:"mode,omitempty"`   // as PushRequest's
	Format string   `json:"format,omitempty"` // xml (default) or json
}

func (s *Sandbox) subscribeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /sandbox/subscribe", s.serveSubscribe)
	mux.HandleFunc("POST /sandbox/subscribe/push", s.serveSubscribePush)
	mux.HandleFunc("GET /sandbox/subscribe/sent", func(w http.ResponseWriter, _ *http.Request) {
		writeClient(w, map[string]any{"messages": s.SentMessages(), "stats": s.SubscribeStats()}, nil)
	})
}

// serveSubscribe is POST /sandbox/subscribe: the user's tap, answered as
// wx.requestSubscribeMessage answers the mini-program ({errMsg,
// templateId: answer}), and pushed to URL when given (its result under
// "push").
func (s *Sandbox) serveSubscribe(w http.ResponseWriter, r *http.Request) {
	var req SubscribeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&req); err != nil {
		writeClient(w, nil, fmt.Errorf("%w: %v", ErrBadSubscribe, err))
		return
	}
	openID := req.OpenID
	if openID == "" {
		u, err := s.User(r.Context(), req.User)
		if err != nil {
			writeClient(w, nil, err)
			return
		}
		openID = u.OpenID
	}
	if req.URL != "" && s.push.app.Token == "" {
		http.Error(w, "the sandbox's app has no push token (wxsandbox -push-token)", http.StatusConflict)
		return
	}
	if err := checkTap(openID, req.Templates); err != nil { // before the templates are marked
		writeClient(w, nil, err)
		return
	}
	s.SetLongTerm(req.LongTerm...)
	if err := s.Subscribe(openID, req.Templates); err != nil {
		writeClient(w, nil, err)
		return
	}
	answer := map[string]any{"errMsg": "requestSubscribeMessage:ok"}
	for id, a := range req.Templates {
		answer[id] = a
	}
	if req.URL != "" {
		var items []map[string]any
		for _, id := range sortedKeys(answer) {
			if a, ok := req.Templates[id]; ok {
				items = append(items, map[string]any{"TemplateId": id, "SubscribeStatusString": a, "PopupScene": 0})
			}
		}
		res, err := s.pushSubscribeEvent(r.Context(), req.URL, req.Mode, req.Format, openID, domain.PushSubscribePopup, items)
		if err != nil {
			http.Error(w, "push: "+err.Error(), http.StatusBadGateway)
			return
		}
		answer["push"] = res
	}
	writeClient(w, answer, nil)
}

// SubscribePushRequest asks the sandbox to push the results of the
// messages sent and not pushed yet.
type SubscribePushRequest struct {
	AppID  string   `json:"appid,omitempty"`
	URL    string   `json:"url"`              // the server's /wechat/push/{appid}
	Mode   PushMode `json:"mode,omitempty"`   // as PushRequest's
	Format string   `json:"format,omitempty"` // xml (default) or json
}

// SubscribePushed is a sent message's result pushed, and the answer.
type SubscribePushed struct {
	MsgID int64 `json:"msgid,string"`
	PushResult
}

// serveSubscribePush is POST /sandbox/subscribe/push: one
// subscribe_msg_sent_event (ErrorCode 0, MsgID) per message sent and not
// yet pushed; one the server does not answer "success" stays to push.
func (s *Sandbox) serveSubscribePush(w http.ResponseWriter, r *http.Request) {
	var req SubscribePushRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil || req.URL == "" {
		http.Error(w, "want {url, mode, format}", http.StatusBadRequest)
		return
	}
	pushed, err := s.PushSent(r.Context(), req)
	if err != nil {
		http.Error(w, "push: "+err.Error(), http.StatusBadGateway)
		return
	}
	writeClient(w, map[string]any{"pushed": pushed}, nil)
}

// PushSent pushes the result of every message sent and not yet pushed,
// in order, stopping at the first the server does not answer "success".
func (s *Sandbox) PushSent(ctx context.Context, req SubscribePushRequest) ([]SubscribePushed, error) {
	return s.pushSent(ctx, req, 0)
}

// pushSent is PushSent of message msgID only (0: all).
func (s *Sandbox) pushSent(ctx context.Context, req SubscribePushRequest, msgID int64) ([]SubscribePushed, error) {
	if s.push.app.Token == "" {
		return nil, errors.New("the sandbox's app has no push token (wxsandbox -push-token)")
	}
	s.mu.Lock()
	pushing := s.subsLocked().pushing
	s.mu.Unlock()
	pushing.Lock()
	defer pushing.Unlock()
	s.mu.Lock()
	var due []SentMessage
	for _, m := range s.subs.sent {
		if !m.pushed && (msgID == 0 || m.MsgID == msgID) {
			due = append(due, m)
		}
	}
	s.mu.Unlock()
	out := []SubscribePushed{}
	for _, m := range due {
		items := []map[string]any{{"TemplateId": m.TemplateID, "MsgID": m.MsgID, "ErrorCode": 0, "ErrorStatus": "success"}}
		res, err := s.pushSubscribeEvent(ctx, req.URL, req.Mode, req.Format, m.OpenID, domain.PushSubscribeSent, items)
		if err != nil {
			return out, err
		}
		out = append(out, SubscribePushed{MsgID: m.MsgID, PushResult: res})
		if res.Status != http.StatusOK || res.Answer != "success" {
			break
		}
		s.mu.Lock()
		for i := range s.subs.sent {
			if s.subs.sent[i].MsgID == m.MsgID {
				s.subs.sent[i].pushed = true
			}
		}
		s.mu.Unlock()
	}
	return out, nil
}

// envelopes of subscribe events in XML (JSON has the List at the top).
var subscribeEnvelope = map[string]string{
	domain.PushSubscribePopup:  "SubscribeMsgPopupEvent",
	domain.PushSubscribeChange: "SubscribeMsgChangeEvent",
	domain.PushSubscribeSent:   "SubscribeMsgSentEvent",
}

// pushSubscribeEvent pushes a subscribe event of the user's with items.
func (s *Sandbox) pushSubscribeEvent(ctx context.Context, url string, mode PushMode, format, openID, kind string, items []map[string]any) (PushResult, error) {
	now := s.now()
	event := map[string]any{"ToUserName": "gh_sandbox", "FromUserName": openID, "CreateTime": now.Unix(),
		"MsgType": "event", "Event": kind}
	f, msg := domain.PushXML, []byte(nil)
	if format == "json" {
		list := make([]any, len(items))
		for i, it := range items {
			list[i] = it
		}
		event["List"] = list
		f, msg = domain.PushJSON, EventJSON(event)
	} else {
		event[subscribeEnvelope[kind]] = map[string]any{"List": items}
		msg = EventXML(event)
	}
	if mode == "" {
		mode = PushSafe
		if s.push.app.EncodingAESKey == "" {
			mode = PushPlain
		}
	}
	p, err := NewPush(s.push.app, mode, f, msg, now)
	if err != nil {
		return PushResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	status, answer, err := p.Send(ctx, http.DefaultClient, url)
	return PushResult{Status: status, Answer: answer}, err
}

// RequestSubscribeMessage is wx.requestSubscribeMessage on the phone: the
// user taps answers (template ID → accept, reject, ban or filter) in the
// popup. With pushURL set, the sandbox pushes the popup's event there. It
// returns what the page's success callback receives.
func (p *Phone) RequestSubscribeMessage(ctx context.Context, user string, answers map[string]string, pushURL string) (map[string]any, error) {
	var out map[string]any
	err := p.call(ctx, http.MethodPost, "/sandbox/subscribe", SubscribeRequest{AppID: p.AppID, User: user, Templates: answers, URL: pushURL}, &out)
	return out, err
}
