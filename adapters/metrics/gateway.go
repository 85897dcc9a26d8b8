package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Gateway registers the built-in gateway's collectors and returns the
// observer the HTTP adapter calls once per request under a gateway prefix
// (see httpapi.GatewayObserver): requests by upstream name (configured,
// so bounded) and HTTP status, and their duration by upstream. A stream or
// a WebSocket is observed once it ends, with its whole life. Call it once
// per Metrics.
func (m *Metrics) Gateway() func(upstream string, status int, d time.Duration) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "gateway_requests_total",
		Help: "Requests through the built-in gateway by upstream and HTTP status (the upstream's, or the gateway's own: 401, 413, 429, 502, 504…)."},
		[]string{"upstream", "status"})
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "gateway_request_duration_seconds",
		Help: "Duration of requests through the built-in gateway by upstream (a stream's or WebSocket's whole life).", Buckets: buckets},
		[]string{"upstream"})
	m.reg.MustRegister(requests, seconds)
	return func(upstream string, status int, d time.Duration) {
		requests.WithLabelValues(upstream, strconv.Itoa(status)).Inc()
		seconds.WithLabelValues(upstream).Observe(d.Seconds())
	}
}
