package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// InternalRequests returns the observer of the internal listener's requests
// (httpapi.InternalObserver), registering its collectors: requests by
// route pattern, API key name ("none" when no key was accepted) and HTTP
// status, and latency by route. Key names come from the keys file, so the
// labels are bounded; a key itself never reaches a label. Call it once.
func (m *Metrics) InternalRequests() func(route, key string, status int, d time.Duration) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "internal_requests_total",
		Help: "Requests of the internal listener by route pattern, API key name (none: no key accepted) and HTTP status."},
		[]string{"route", "key", "status"})
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "internal_request_duration_seconds",
		Help: "Latency of the internal listener by route pattern.", Buckets: buckets}, []string{"route"})
	m.reg.MustRegister(requests, seconds)
	return func(route, key string, status int, d time.Duration) {
		if route == "" {
			route = "unmatched"
		}
		if key == "" {
			key = "none"
		}
		requests.WithLabelValues(route, key, strconv.Itoa(status)).Inc()
		seconds.WithLabelValues(route).Observe(d.Seconds())
	}
}
