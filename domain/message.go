package domain

// A subscribe message (订阅消息) to send: accepted by the server for a
// user who consented (see Consent), stored in the outbox, sent by a
// worker through cgi-bin/message/subscribe/send, and reconciled with
// WeChat's subscribe_msg_sent_event by its msgid.

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
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
	case m.OpenID == "" || len(m.OpenID) > maxOpenIDLen || !WeChatID(m.OpenID):
		return Malformed("openid", "required, at most 64 characters of A-Z, a-z, 0-9, _ and -")
	case m.TemplateID == "" || len(m.TemplateID) > MaxTemplateIDLen || !WeChatID(m.TemplateID):
		return Malformed("template_id", fmt.Sprintf("required, at most %d characters of A-Z, a-z, 0-9, _ and -", MaxTemplateIDLen))
	case len(m.Page) > maxMessagePage || !utf8.ValidString(m.Page) || hasControl(m.Page):
		return Malformed("page", "at most 1024 characters, none of them control characters")
	case len(m.IdempotencyKey) > MaxIdempotencyKeyLen || !printableASCII(m.IdempotencyKey):
		return Malformed("idempotency_key", fmt.Sprintf("at most %d printable ASCII characters", MaxIdempotencyKeyLen))
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

// WeChat's identifiers (openids, unionids, template IDs) are base64url
// text: A-Z, a-z, 0-9, _ and -. WeChatID reports whether s is made of
// those only, so a NUL, a terminal escape or a byte a database refuses
// never reaches a store or an operator's screen.
func WeChatID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// printableASCII reports whether s is made of printable ASCII (no space,
// no control character): an idempotency key a client sends in a header.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a control character (C0, DEL, C1).
func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }
