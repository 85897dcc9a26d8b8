package domain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PushEvent is one message or event WeChat pushed to a server for an app
// (消息推送): a subscribe message's result, a media check's, a customer
// service message…, as the receiver stores it and the worker hands it on.
type PushEvent struct {
	AppID string
	// Kind is the Event of an event (MsgType "event"), else the MsgType
	// ("text", "image"…); "unknown" when the message has neither.
	Kind string
	// DedupKey is the same for WeChat's retries of one event and differs
	// between events (see ParsePush).
	DedupKey   string
	FromUser   string // FromUserName: the user's openid, or "" for an app event
	CreateTime int64  // WeChat's CreateTime, seconds since 1970
	// Payload is the event as a JSON object, normalised: XML turned into
	// JSON (every value a string, nested elements objects, repeated ones
	// arrays), a List always an array.
	Payload    json.RawMessage
	ReceivedAt time.Time
}

// Lane is what orders deliveries: a user's events of an app are delivered
// one at a time, in order of arrival.
func (e PushEvent) Lane() string { return e.AppID + "/" + e.FromUser }

// IdempotencyKey names the event to whoever it is delivered to, the same for
// every attempt and every server: a digest of the app and the dedup key.
func (e PushEvent) IdempotencyKey() string {
	sum := sha256.Sum256([]byte(e.AppID + "\x00" + e.DedupKey))
	return hex.EncodeToString(sum[:16])
}

// PushFormat is the format WeChat pushes in, chosen per app in its console.
type PushFormat uint8

// The push formats.
const (
	PushXML PushFormat = iota
	PushJSON
)

// Bounds of what a push may hold, far above what WeChat sends.
const (
	pushMaxDepth    = 16
	pushMaxElements = 4096
	// MaxPushKeyLen bounds a dedup key (it is one column of a unique index).
	MaxPushKeyLen = 191
	maxPushKind   = 64
	maxPushUser   = 128
)

// PushFields are the outer fields of a push body: Encrypt, which safe and
// compatible mode carry, and the rest, parsed.
type PushFields struct {
	Encrypt string
	Fields  map[string]any
}

// ReadPushBody parses a push body of either format into its fields, without
// checking what they hold. Malformed input is KindInvalidInput.
func ReadPushBody(body []byte, f PushFormat) (PushFields, error) {
	var m map[string]any
	var err error
	if f == PushJSON {
		m, err = readPushJSON(body)
	} else {
		m, err = readPushXML(body)
	}
	if err != nil {
		return PushFields{}, Wrap(KindInvalidInput, err)
	}
	enc, _ := pushText(m["Encrypt"])
	return PushFields{Encrypt: enc, Fields: m}, nil
}

// ParsePush turns the fields of a verified push (a plain body's, or a
// decrypted message's) into the event of appID received at receivedAt.
//
// The dedup key is, in this order: the MsgId of a message; the trace_id of a
// media check (wxa_media_check); otherwise a digest of the whole normalised
// payload (FromUserName, CreateTime, Event and every event field), since
// WeChat's retries of an event repeat it field for field. Tolerant of what
// WeChat's documentation shows: numbers as strings ("CreateTime": "1700000000",
// "label": "100"), and a List that is an object for one item, an array for
// several (always an array in the payload).
func ParsePush(appID string, fields map[string]any, receivedAt time.Time) (PushEvent, error) {
	delete(fields, "Encrypt") // compatible mode's copy of what was verified
	if l, ok := fields["List"]; ok {
		if _, isArray := l.([]any); !isArray {
			fields["List"] = []any{l}
		}
	}
	payload, err := json.Marshal(fields) // sorted keys: one text per event
	if err != nil {
		return PushEvent{}, Wrap(KindInvalidInput, err)
	}
	e := PushEvent{AppID: appID, Payload: payload, ReceivedAt: receivedAt}
	msgType, _ := pushText(fields["MsgType"])
	event, _ := pushText(fields["Event"])
	e.Kind = msgType
	if strings.EqualFold(msgType, "event") || (msgType == "" && event != "") {
		e.Kind = event
	}
	if e.Kind == "" {
		e.Kind = "unknown"
	}
	if len(e.Kind) > maxPushKind || !utf8.ValidString(e.Kind) {
		return PushEvent{}, Malformed("MsgType", "too long")
	}
	e.FromUser, _ = pushText(fields["FromUserName"])
	if len(e.FromUser) > maxPushUser || !utf8.ValidString(e.FromUser) {
		return PushEvent{}, Malformed("FromUserName", "too long")
	}
	if ct, ok := pushText(fields["CreateTime"]); ok && ct != "" {
		if e.CreateTime, err = strconv.ParseInt(ct, 10, 64); err != nil {
			return PushEvent{}, Malformed("CreateTime", "not a number")
		}
	}
	msgID, _ := pushText(fields["MsgId"])
	traceID, _ := pushText(fields["trace_id"])
	switch {
	case msgID != "":
		e.DedupKey = "msgid:" + msgID
	case e.Kind == "wxa_media_check" && traceID != "":
		e.DedupKey = "trace:" + traceID
	default:
		sum := sha256.Sum256(payload)
		e.DedupKey = "sha256:" + hex.EncodeToString(sum[:])
	}
	if len(e.DedupKey) > MaxPushKeyLen || !utf8.ValidString(e.DedupKey) {
		return PushEvent{}, Malformed("MsgId", "too long")
	}
	return e, nil
}

// pushText reads a scalar field as text: a string, or a number as WeChat may
// send either.
func pushText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// PushText reads a field of a payload as text, a number or a string alike:
// for the consumers of events (a label, a trace_id, an errcode).
func PushText(payload json.RawMessage, field string) (string, bool) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return "", false
	}
	return pushText(m[field])
}

func readPushJSON(body []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("push body is not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("push body is not a JSON object")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("push body has more than one JSON value")
	}
	if depth(m, 0) > pushMaxDepth {
		return nil, errors.New("push body nests too deep")
	}
	return m, nil
}

// depth returns how deep v nests.
func depth(v any, d int) int {
	deepest := d
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			deepest = max(deepest, depth(c, d+1))
		}
	case []any:
		for _, c := range x {
			deepest = max(deepest, depth(c, d+1))
		}
	}
	return deepest
}

// readPushXML reads WeChat's XML (<xml><Name>text or CDATA</Name>…</xml>)
// into a map: an element with children is a map, one with none its text, a
// name repeated an array. Attributes are ignored (WeChat sends none).
func readPushXML(body []byte) (map[string]any, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.Entity = nil // the five predefined entities only
	count := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("push body is not XML: %w", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			v, err := readXMLElement(d, 1, &count)
			if err != nil {
				return nil, err
			}
			m, ok := v.(map[string]any)
			if !ok {
				m = map[string]any{}
			}
			for {
				tok, err := d.Token()
				if err == io.EOF {
					return m, nil
				}
				if err != nil {
					return nil, fmt.Errorf("push body is not XML: %w", err)
				}
				if _, ok := tok.(xml.StartElement); ok {
					return nil, errors.New("push body has more than one root element")
				}
			}
		case xml.Directive:
			return nil, errors.New("push body has a directive (DOCTYPE)")
		}
	}
}

// readXMLElement reads the content of an element whose start was read.
func readXMLElement(d *xml.Decoder, level int, count *int) (any, error) {
	if level > pushMaxDepth {
		return nil, errors.New("push body nests too deep")
	}
	var text strings.Builder
	var children map[string]any
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("push body is not XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if *count++; *count > pushMaxElements {
				return nil, errors.New("push body has too many elements")
			}
			v, err := readXMLElement(d, level+1, count)
			if err != nil {
				return nil, err
			}
			if children == nil {
				children = map[string]any{}
			}
			name := t.Name.Local
			switch prev := children[name].(type) {
			case nil:
				children[name] = v
			case []any:
				children[name] = append(prev, v)
			default:
				children[name] = []any{prev, v}
			}
		case xml.CharData:
			text.Write(t)
		case xml.Directive:
			return nil, errors.New("push body has a directive (DOCTYPE)")
		case xml.EndElement:
			if children != nil {
				return children, nil
			}
			return strings.TrimSpace(text.String()), nil
		}
	}
}
