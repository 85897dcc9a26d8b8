package domain

// A subscribe message (订阅消息) to send: accepted by the server for a
// user who consented (see Consent), stored in the outbox, sent by a
// worker through cgi-bin/message/subscribe/send, and reconciled with
// WeChat's subscribe_msg_sent_event by its msgid.

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Message statuses, beside its job's state (pending, done, dead).
const (
	MessageQueued    = "queued"    // stored, not yet answered by WeChat
	MessageUnknown   = "unknown"   // an attempt's answer was lost: WeChat may have sent it (tried again: at least once)
	MessageSent      = "sent"      // WeChat accepted it (msgid)
	MessageDelivered = "delivered" // WeChat's subscribe_msg_sent_event said delivered
	MessageFailed    = "failed"    // refused for good (errcode), or the sent event said it failed
)

// Bounds of a message's fields.
const (
	MaxIdempotencyKeyLen = 128
	maxMessagePage       = 1024
	maxOpenIDLen         = 64
)

// MessageOutcome is what became of a message.
type MessageOutcome struct {
	Status  string
	MsgID   int64 // WeChat's, a 64-bit integer (0 until sent)
	ErrCode int   // WeChat's errcode of the last answer, or of the sent event
	Unknown int   // attempts whose answer was lost
}

// Message is a subscribe message and what became of it.
type Message struct {
	AppID, OpenID, TemplateID string
	Page                      string
	MiniprogramState          string // developer, trial, formal ("": formal)
	Lang                      string // zh_CN, en_US, zh_HK, zh_TW ("": zh_CN)
	Data                      map[string]string
	IdempotencyKey            string
	MessageOutcome
}

// Lane orders a user's messages of an app: one at a time, in order.
func (m Message) Lane() string { return m.AppID + "/" + m.OpenID }

// Consent is the ledger entry the message is sent under.
func (m Message) Consent() ConsentKey {
	return ConsentKey{AppID: m.AppID, OpenID: m.OpenID, TemplateID: m.TemplateID}
}

// Validate checks what the message asks before it is stored.
func (m Message) Validate() error {
	switch {
	case m.OpenID == "" || len(m.OpenID) > maxOpenIDLen:
		return Malformed("openid", "required, at most 64 characters")
	case m.TemplateID == "" || len(m.TemplateID) > MaxTemplateIDLen:
		return Malformed("template_id", fmt.Sprintf("required, at most %d characters", MaxTemplateIDLen))
	case len(m.Page) > maxMessagePage || !utf8.ValidString(m.Page):
		return Malformed("page", "at most 1024 characters")
	case len(m.IdempotencyKey) > MaxIdempotencyKeyLen:
		return Malformed("idempotency_key", fmt.Sprintf("at most %d characters", MaxIdempotencyKeyLen))
	}
	switch m.MiniprogramState {
	case "", "developer", "trial", "formal":
	default:
		return Malformed("miniprogram_state", "developer, trial or formal")
	}
	switch m.Lang {
	case "", "zh_CN", "en_US", "zh_HK", "zh_TW":
	default:
		return Malformed("lang", "zh_CN, en_US, zh_HK or zh_TW")
	}
	return ValidateMessageData(m.Data)
}

// SendBody is the body of subscribeMessage.send for m.
func (m Message) SendBody() []byte {
	type value struct {
		Value string `json:"value"`
	}
	data := make(map[string]value, len(m.Data))
	for k, v := range m.Data {
		data[k] = value{v}
	}
	b, _ := json.Marshal(struct {
		ToUser     string           `json:"touser"`
		TemplateID string           `json:"template_id"`
		Page       string           `json:"page,omitempty"`
		State      string           `json:"miniprogram_state,omitempty"`
		Lang       string           `json:"lang,omitempty"`
		Data       map[string]value `json:"data"`
	}{m.OpenID, m.TemplateID, m.Page, m.MiniprogramState, m.Lang, data})
	return b
}

// MessageRequest is what a message asks of WeChat, stored as JSON beside
// the message's own columns.
type MessageRequest struct {
	Page             string            `json:"page,omitempty"`
	MiniprogramState string            `json:"miniprogram_state,omitempty"`
	Lang             string            `json:"lang,omitempty"`
	Data             map[string]string `json:"data"`
}

// Request returns m's MessageRequest.
func (m Message) Request() MessageRequest {
	return MessageRequest{Page: m.Page, MiniprogramState: m.MiniprogramState, Lang: m.Lang, Data: m.Data}
}

// WithRequest returns m with r's fields.
func (m Message) WithRequest(r MessageRequest) Message {
	m.Page, m.MiniprogramState, m.Lang, m.Data = r.Page, r.MiniprogramState, r.Lang, r.Data
	return m
}
