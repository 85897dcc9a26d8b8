package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

var (
	dbOpen     = desc("db_open_connections", "Connections of the user database's pool, in use or idle.", "db")
	dbInUse    = desc("db_in_use_connections", "Connections of the user database's pool in use.", "db")
	dbIdle     = desc("db_idle_connections", "Idle connections of the user database's pool.", "db")
	dbMax      = desc("db_max_open_connections", "Most connections the user database's pool opens.", "db")
	dbWaits    = desc("db_wait_total", "Times a query waited for a free connection.", "db")
	dbWaitSecs = desc("db_wait_seconds_total", "Time spent waiting for a free connection.", "db")

	redisHits     = desc("redis_pool_hits_total", "Redis commands that found an idle pooled connection.")
	redisMisses   = desc("redis_pool_misses_total", "Redis commands that had to dial a connection.")
	redisTimeouts = desc("redis_pool_timeouts_total", "Redis commands that found no connection in time.")
	redisTotal    = desc("redis_pool_connections", "Connections of the Redis pool, in use or idle.")
	redisIdle     = desc("redis_pool_idle_connections", "Idle connections of the Redis pool.")
	redisMax      = desc("redis_pool_max_connections", "Most connections the Redis pool opens (per node).")
)

// dbCollector reads a database/sql pool's statistics at scrape time.
type dbCollector struct {
	name  string
	stats func() sql.DBStats
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbOpen, dbInUse, dbIdle, dbMax, dbWaits, dbWaitSecs} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(dbOpen, prometheus.GaugeValue, float64(s.OpenConnections), c.name)
	ch <- prometheus.MustNewConstMetric(dbInUse, prometheus.GaugeValue, float64(s.InUse), c.name)
	ch <- prometheus.MustNewConstMetric(dbIdle, prometheus.GaugeValue, float64(s.Idle), c.name)
	ch <- prometheus.MustNewConstMetric(dbMax, prometheus.GaugeValue, float64(s.MaxOpenConnections), c.name)
	ch <- prometheus.MustNewConstMetric(dbWaits, prometheus.CounterValue, float64(s.WaitCount), c.name)
	ch <- prometheus.MustNewConstMetric(dbWaitSecs, prometheus.CounterValue, s.WaitDuration.Seconds(), c.name)
}

// redisCollector reads a Redis pool's statistics at scrape time.
type redisCollector struct{ stats func() PoolStats }

func (c *redisCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{redisHits, redisMisses, redisTimeouts, redisTotal, redisIdle, redisMax} {
		ch <- d
	}
}

func (c *redisCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(redisHits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(redisMisses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(redisTimeouts, prometheus.CounterValue, float64(s.Timeouts))
	ch <- prometheus.MustNewConstMetric(redisTotal, prometheus.GaugeValue, float64(s.TotalConns))
	ch <- prometheus.MustNewConstMetric(redisIdle, prometheus.GaugeValue, float64(s.IdleConns))
	ch <- prometheus.MustNewConstMetric(redisMax, prometheus.GaugeValue, float64(s.MaxConns))
}
