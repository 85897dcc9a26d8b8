package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"wxbackend/ports"
)

// Push counts what WeChat's message push receiver and its delivery worker
// do (ports.PushObserver), by configured appid ("" for a push to an app not
// configured) and fixed reasons and results.
type Push struct {
	received   *prometheus.CounterVec
	refused    *prometheus.CounterVec
	deliveries *prometheus.CounterVec
}

var _ ports.PushObserver = (*Push)(nil)

// Push registers the push metrics and returns their observer; call it once.
func (m *Metrics) Push() *Push {
	p := &Push{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "push_received_total",
			Help: "Events WeChat pushed, verified, by app and result (stored, or duplicate: WeChat's retry of a stored event)."}, []string{"app", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "push_refused_total",
			Help: "Pushes refused, by app and reason (app, signature, stale, plain, undecryptable, appid, malformed, unavailable)."}, []string{"app", "reason"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "push_delivery_attempts_total",
			Help: "Attempts to deliver push events to webhooks, by app and result (delivered, retry, dead)."}, []string{"app", "result"}),
	}
	m.reg.MustRegister(p.received, p.refused, p.deliveries)
	return p
}

// Received implements ports.PushObserver.
func (p *Push) Received(appID string, duplicate bool) {
	result := "stored"
	if duplicate {
		result = "duplicate"
	}
	p.received.WithLabelValues(appID, result).Inc()
}

// Refused implements ports.PushObserver.
func (p *Push) Refused(appID, reason string) { p.refused.WithLabelValues(appID, reason).Inc() }

// Delivery implements ports.PushObserver.
func (p *Push) Delivery(appID, result string) { p.deliveries.WithLabelValues(appID, result).Inc() }

// PushBacklog registers the age in seconds of the oldest push event not
// delivered yet (0: none), read at scrape time.
func (m *Metrics) PushBacklog(age func() float64) {
	m.Gauge("push_oldest_undelivered_seconds", "Age of the oldest push event not delivered yet, in seconds (0: none).", age)
}
