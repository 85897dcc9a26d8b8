package domain

import (
	"bytes"
	"encoding/json"
)

// The events WeChat pushes about subscribe messages (订阅消息事件推送).
const (
	// PushSubscribePopup: the user answered a subscription popup
	// (wx.requestSubscribeMessage).
	PushSubscribePopup = "subscribe_msg_popup_event"
	// PushSubscribeChange: the user changed a subscription in the
	// mini-program's settings (a long-term one turned off, say).
	PushSubscribeChange = "subscribe_msg_change_event"
	// PushSubscribeSent: the result of a message sent (its MsgID).
	PushSubscribeSent = "subscribe_msg_sent_event"
)

// SubscribeItem is one item of a subscribe event's List: the template and
// the user's answer (popup, change), or a sent message's MsgID and result
// (sent: ErrorCode "0" delivered, else ErrorStatus says why not).
type SubscribeItem struct {
	TemplateID  string
	Status      string // SubscribeStatusString
	MsgID       string
	ErrorCode   string
	ErrorStatus string
}

// subscribeEnvelopes are the elements XML pushes nest their List in; JSON
// pushes have the List at the top.
var subscribeEnvelopes = map[string]string{
	PushSubscribePopup:  "SubscribeMsgPopupEvent",
	PushSubscribeChange: "SubscribeMsgChangeEvent",
	PushSubscribeSent:   "SubscribeMsgSentEvent",
}

// SubscribeItems returns the items of a subscribe event (nil for another
// kind of event): its List, at the top of its payload or in its envelope
// element, one object or an array. Values are read as text, numbers too
// (JSON pushes send MsgID and ErrorCode as numbers or strings); items
// without a TemplateId are skipped.
func SubscribeItems(e PushEvent) []SubscribeItem {
	envelope, ok := subscribeEnvelopes[e.Kind]
	if !ok {
		return nil
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return nil
	}
	list := p["List"]
	if list == nil {
		var inner map[string]json.RawMessage
		if json.Unmarshal(p[envelope], &inner) == nil {
			list = inner["List"]
		}
	}
	var items []map[string]any
	if decodeNumbers(list, &items) != nil {
		var one map[string]any
		if decodeNumbers(list, &one) != nil || one == nil {
			return nil
		}
		items = []map[string]any{one}
	}
	var out []SubscribeItem
	for _, it := range items {
		s := SubscribeItem{TemplateID: pushValue(it["TemplateId"]), Status: pushValue(it["SubscribeStatusString"]),
			MsgID: pushValue(it["MsgID"]), ErrorCode: pushValue(it["ErrorCode"]), ErrorStatus: pushValue(it["ErrorStatus"])}
		if s.TemplateID == "" || len(s.TemplateID) > MaxTemplateIDLen || !WeChatID(s.TemplateID) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// decodeNumbers decodes JSON keeping numbers as their text: a MsgID is a
// 64-bit integer, beyond float64's exact range.
func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// pushValue is a scalar of a payload as text.
func pushValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}
