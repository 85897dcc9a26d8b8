package domain

import (
	"bytes"
	"encoding/json"
	"errors"
)

// PushKindMediaCheck is the Kind of the event WeChat pushes with the result
// of an asynchronous image check (wxa/media_check_async).
const PushKindMediaCheck = "wxa_media_check"

// MediaCheck is the result of one asynchronous image check, as WeChat
// pushes it: the trace_id its submission was answered, and its verdict.
type MediaCheck struct {
	TraceID string
	Verdict Verdict
	// Label is WeChat's label of the verdict ("100" for a normal image),
	// as text: WeChat sends it as a number or a string.
	Label string
}

// errNotMediaCheck is the error of an event that is not a media check's.
var errNotMediaCheck = constError("not a wxa_media_check event")

// ParseMediaCheck reads the result of a media check from its pushed event.
// It accepts both shapes WeChat has sent: version 2's result.suggest
// ("pass", "review", "risky", with result.label), and version 1's isrisky
// (1 risky, 0 pass; no review). Numbers may be strings (an XML push's every
// value is). An event that is not a media check, has no trace_id, or has no
// verdict it can read is KindInvalidInput: it is recorded, and nothing acts
// on it.
func ParseMediaCheck(e PushEvent) (MediaCheck, error) {
	if e.Kind != PushKindMediaCheck {
		return MediaCheck{}, Wrap(KindInvalidInput, errNotMediaCheck)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(e.Payload))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return MediaCheck{}, Wrap(KindInvalidInput, err)
	}
	trace, _ := pushText(m["trace_id"])
	if trace == "" || len(trace) > MaxPushKeyLen {
		return MediaCheck{}, Malformed("trace_id", "missing or too long")
	}
	c := MediaCheck{TraceID: trace}
	if result, ok := m["result"].(map[string]any); ok {
		suggest, _ := pushText(result["suggest"])
		c.Label, _ = pushText(result["label"])
		switch v := Verdict(suggest); v {
		case VerdictPass, VerdictReview, VerdictRisky:
			c.Verdict = v
			return c, nil
		}
	}
	switch risky, _ := pushText(m["isrisky"]); risky {
	case "0", "false":
		c.Verdict = VerdictPass
	case "1", "true":
		c.Verdict = VerdictRisky
	default:
		return MediaCheck{}, Wrap(KindInvalidInput, errors.New("media check without a verdict (result.suggest or isrisky)"))
	}
	return c, nil
}
