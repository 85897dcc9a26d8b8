package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wxbackend/adapters/metrics"
)

func TestMessages_CountsByResultAndBoundedErrcode(t *testing.T) {
	m := metrics.New()
	o := m.Messages()
	o.Queued("wxa")
	o.Queued("wxa")
	o.Attempt("wxa", "sent", 0)
	o.Attempt("wxa", "failed", 43101)
	o.Attempt("wxa", "retry", 99999) // not a code of subscribe/send: "other"
	o.Attempt("wxa", "retry", 12345)
	o.Attempt("wxa", "unknown", 0)
	o.Unmatched("wxa")
	m.MessageBacklog(func() float64 { return 7 })
	want := `
# HELP wxb_message_attempts_total Attempts to send subscribe messages, by app, result (sent; retry: tried again later; unknown: no answer, the message may have been sent, tried again; failed: for good) and WeChat's errcode (0: none or success; other: a code not listed).
# TYPE wxb_message_attempts_total counter
wxb_message_attempts_total{app="wxa",errcode="0",result="sent"} 1
wxb_message_attempts_total{app="wxa",errcode="0",result="unknown"} 1
wxb_message_attempts_total{app="wxa",errcode="43101",result="failed"} 1
wxb_message_attempts_total{app="wxa",errcode="other",result="retry"} 2
# HELP wxb_message_sent_events_unmatched_total Items of subscribe_msg_sent_event whose msgid no message of the outbox had once the push worker stopped waiting for it, by app (messages sent by another system, or whose answer was lost).
# TYPE wxb_message_sent_events_unmatched_total counter
wxb_message_sent_events_unmatched_total{app="wxa"} 1
# HELP wxb_messages_oldest_queued_seconds Age of the oldest subscribe message waiting in the outbox to be sent, in seconds (0: none).
# TYPE wxb_messages_oldest_queued_seconds gauge
wxb_messages_oldest_queued_seconds 7
# HELP wxb_messages_queued_total Subscribe messages accepted and stored in the outbox, by app (an idempotency key's repeat is not counted).
# TYPE wxb_messages_queued_total counter
wxb_messages_queued_total{app="wxa"} 2
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want),
		"wxb_message_attempts_total", "wxb_message_sent_events_unmatched_total", "wxb_messages_oldest_queued_seconds", "wxb_messages_queued_total"); err != nil {
		t.Fatal(err)
	}
}
