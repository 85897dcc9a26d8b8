package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Messages counts what becomes of subscribe messages (app.MessageObserver):
// those accepted into the outbox, and each attempt to send one by result
// (sent, retry, unknown: the answer was lost, failed) and WeChat's errcode.
type Messages struct {
	queued    *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	unmatched *prometheus.CounterVec
}

// messageErrcodes are the errcodes of subscribe/send a label may carry; any
// other is "other", so that a WeChat answering new codes cannot grow the
// series without bound.
var messageErrcodes = map[int]bool{0: true, -1: true, 40001: true, 40003: true, 40014: true, 40037: true,
	41030: true, 42001: true, 43101: true, 45009: true, 47001: true, 47003: true}

// Messages registers the subscribe messages' metrics and returns their
// observer; call it once.
func (m *Metrics) Messages() *Messages {
	o := &Messages{
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "messages_queued_total",
			Help: "Subscribe messages accepted and stored in the outbox, by app (an idempotency key's repeat is not counted)."}, []string{"app"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "message_attempts_total",
			Help: "Attempts to send subscribe messages, by app, result (sent; retry: tried again later; unknown: no answer, the message may have been sent, tried again; failed: for good) and WeChat's errcode (0: none or success; other: a code not listed)."},
			[]string{"app", "result", "errcode"}),
		unmatched: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "message_sent_events_unmatched_total",
			Help: "Items of subscribe_msg_sent_event whose msgid no message of the outbox had once the push worker stopped waiting for it, by app (messages sent by another system, or whose answer was lost)."}, []string{"app"}),
	}
	m.reg.MustRegister(o.queued, o.attempts, o.unmatched)
	return o
}

// Queued implements app.MessageObserver.
func (o *Messages) Queued(appID string) { o.queued.WithLabelValues(appID).Inc() }

// Attempt implements app.MessageObserver.
func (o *Messages) Attempt(appID, result string, errcode int) {
	code := "other"
	if messageErrcodes[errcode] {
		code = strconv.Itoa(errcode)
	}
	o.attempts.WithLabelValues(appID, result, code).Inc()
}

// Unmatched implements app.MessageObserver.
func (o *Messages) Unmatched(appID string) { o.unmatched.WithLabelValues(appID).Inc() }

// MessageBacklog registers the age in seconds of the oldest subscribe
// message waiting in the outbox to be sent (0: none), read at scrape time.
func (m *Metrics) MessageBacklog(age func() float64) {
	m.Gauge("messages_oldest_queued_seconds", "Age of the oldest subscribe message waiting in the outbox to be sent, in seconds (0: none).", age)
}
