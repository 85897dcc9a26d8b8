// Package metrics exposes wxbackend's Prometheus metrics with
// prometheus/client_golang: the HTTP routes (by route pattern and contract
// code), WeChat's API (by endpoint and errcode), every store call (by store,
// operation and error kind), rate-limit rejections, access-token refreshes,
// and the connection pools.
//
// It measures from outside: decorators of the ports (so the core does not
// know it is measured), an observer the HTTP adapter calls once per request,
// and functions read at scrape time. Labels are bounded: route patterns,
// never raw paths; configured appids; errcodes and error kinds; never an
// openid or a token.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wxbackend/domain"
)

// Namespace prefixes every metric name.
const Namespace = "wxb"

// Metrics holds the collectors of one process, on a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec
	requestSeconds *prometheus.HistogramVec
	wechatCalls    *prometheus.CounterVec
	wechatSeconds  *prometheus.HistogramVec
	storeCalls     *prometheus.CounterVec
	storeSeconds   *prometheus.HistogramVec
	rejected       *prometheus.CounterVec
	refreshes      *prometheus.CounterVec
	userCache      *prometheus.CounterVec
	openAPICalls   *prometheus.CounterVec // openapi.go
}

// Latency buckets: from a memory lookup (0.5 ms) to WeChat's slowest (10 s).
var buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns the metrics of a process, with Go's runtime and process
// collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "http_requests_total",
			Help: "HTTP requests by route pattern, method and contract code (0: success)."}, []string{"route", "method", "code"}),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: buckets}, []string{"route"}),
		wechatCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "wechat_calls_total",
			Help: "Calls of WeChat's API by app, endpoint and errcode (0: success; timeout or transport: no answer)."}, []string{"app", "endpoint", "errcode"}),
		wechatSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "wechat_call_duration_seconds",
			Help: "Latency of WeChat's API by endpoint.", Buckets: buckets}, []string{"endpoint"}),
		storeCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "store_calls_total",
			Help: "Store calls by store, operation and result (ok, or the error's kind)."}, []string{"store", "op", "result"}),
		storeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "store_call_duration_seconds",
			Help: "Store call latency by store and operation.", Buckets: buckets}, []string{"store", "op"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "rate_limit_rejections_total",
			Help: "Requests refused by a rate limit (code 7), by limiter."}, []string{"limiter"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "access_token_refreshes_total",
			Help: "Access tokens fetched from WeChat (stable_token) by app, mode (normal or force) and result."}, []string{"app", "mode", "result"}),
		userCache: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "user_cache_lookups_total",
			Help: "Lookups of the user cache by operation and result (hit: answered or started from a copy; miss: read the database)."}, []string{"op", "result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.requestSeconds, m.wechatCalls, m.wechatSeconds, m.storeCalls,
		m.storeSeconds, m.rejected, m.refreshes, m.userCache} {
		f(c)
	}
	m.openAPICalls = newOpenAPICalls(reg)
	return m
}

// ObserveUserCache counts a lookup of the user cache (see
// usercache.Observer).
func (m *Metrics) ObserveUserCache(op string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.userCache.WithLabelValues(op, result).Inc()
}

// Handler serves the metrics in Prometheus's exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer is the registry, for tests and embedding.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveRequest records one HTTP request: its route pattern ("" for a path
// no route matched), method, contract code and duration.
func (m *Metrics) ObserveRequest(route, method string, code int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.requestSeconds.WithLabelValues(route).Observe(d.Seconds())
}

// observeStore records one store call.
func (m *Metrics) observeStore(store, op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = domain.KindOf(err).String()
	}
	m.storeCalls.WithLabelValues(store, op, result).Inc()
	m.storeSeconds.WithLabelValues(store, op).Observe(time.Since(start).Seconds())
}

// Gauge registers a gauge read at scrape time, e.g. live sessions.
func (m *Metrics) Gauge(name, help string, read func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, read))
}

// DB registers the statistics of a database/sql pool, read at scrape time,
// under the label db.
func (m *Metrics) DB(name string, stats func() sql.DBStats) {
	m.reg.MustRegister(&dbCollector{name: name, stats: stats})
}

// PoolStats are a Redis client's connection pool counters.
type PoolStats struct {
	Hits, Misses, Timeouts          uint64 // connections found idle, dialled, waited for in vain
	TotalConns, IdleConns, MaxConns uint64
}

// RedisPool registers a Redis connection pool's statistics, read at scrape
// time.
func (m *Metrics) RedisPool(stats func() PoolStats) {
	m.reg.MustRegister(&redisCollector{stats: stats})
}
