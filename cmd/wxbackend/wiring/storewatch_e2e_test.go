package wiring_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
)

// A database and a Redis that stop answering (their proxies cut) are each
// logged once, naming the store, its setting and the error's class, though
// the server checks them every 50 ms; each is logged again when it answers.
func TestStoreWatch_LogsAStoreThatStopsAnsweringOnce(t *testing.T) {
	dsn := sqltest.Postgres(t)
	dbProxy := tcpproxy.Start(t, sqltest.PostgresServerAddr(t))
	sess, rc := redisSessions(t)
	redisProxy := tcpproxy.Start(t, rc.Addrs[0])
	rc.Addrs, rc.Timeout = []string{redisProxy.Addr()}, 300*time.Millisecond
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret = appID, appSecret
	cfg.DB, cfg.Sessions, cfg.Redis = serverDB("postgres", sqltest.WithAddr(t, "postgres", dsn, dbProxy.Addr())), sess, rc
	cfg.DB.QueryTimeout = 500 * time.Millisecond
	cfg.Log.Level = "debug" // each failed check: "store check failed"
	wiringtest.StartSandbox(t, &cfg)
	s := launch(t, cfg, fx.Supply(wiring.StoreWatchInterval(50*time.Millisecond)))

	const down = "store not answering: requests that need it answer code 9"
	dbProxy.Down()
	redisProxy.Down()
	waitFor(t, 15*time.Second, "both stores logged down", func() bool {
		logs := s.logs.String()
		return strings.Contains(logs, `store="user database (postgres)" setting=WXB_DB_DSN class=`) &&
			strings.Contains(logs, `store="Redis (sessions)" setting=WXB_REDIS_ADDRS class=`)
	})
	waitFor(t, 15*time.Second, "ten more failed checks of each store", func() bool {
		logs := s.logs.String()
		return strings.Count(logs, `msg="store check failed" store="user database (postgres)"`) >= 10 &&
			strings.Count(logs, `msg="store check failed" store="Redis (sessions)"`) >= 10
	})
	if n := strings.Count(s.logs.String(), down); n != 2 {
		t.Fatalf("%d lines of %q, want one per store:\n%s", n, down, s.logs)
	}
	if err := dbProxy.Up(); err != nil {
		t.Fatal(err)
	}
	if err := redisProxy.Up(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "both stores logged up", func() bool {
		return strings.Count(s.logs.String(), "store answering again") == 2
	})
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(line, down) && !strings.Contains(line, "class=connection_") && !strings.Contains(line, "class=timeout") && !strings.Contains(line, "class=unavailable") {
			t.Errorf("a line without the error's class: %s", line)
		}
	}
}

// A server started while Redis is down (nothing dials it before a request
// needs it) says so at once, not at the first request.
func TestStoreWatch_RedisDownAtStartIsLoggedAtOnce(t *testing.T) {
	sess, rc := redisSessions(t)
	down := tcpproxy.Start(t, rc.Addrs[0])
	down.Down()
	rc.Addrs, rc.Timeout = []string{down.Addr()}, 300*time.Millisecond
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret = appID, appSecret
	cfg.DB, cfg.Sessions, cfg.Redis = sqliteDB(t), sess, rc
	wiringtest.StartSandbox(t, &cfg)
	s := launch(t, cfg, fx.Supply(wiring.StoreWatchInterval(time.Hour))) // no tick: the line comes from the check at start
	waitFor(t, 15*time.Second, "Redis logged down", func() bool {
		return strings.Contains(s.logs.String(), `msg="store not answering: requests that need it answer code 9" store="Redis (sessions)" setting=WXB_REDIS_ADDRS`)
	})
	if strings.Contains(s.logs.String(), `store="user database (sqlite)"`) {
		t.Fatalf("the database, which answers, is logged:\n%s", s.logs)
	}
}
