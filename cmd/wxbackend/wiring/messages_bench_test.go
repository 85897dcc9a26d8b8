package wiring_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/internal/sim/sandbox"
)

// BenchmarkMessages_OutboxToSandboxOnMariaDB and …OnPostgreSQL measure
// subscribe messages through a whole server: accepted by POST /v1/messages
// on the internal listener (16 services at a time, each message to a user
// who allowed it), stored in the outbox, sent by the server's worker
// (default batch of 16, polling every 50 ms when idle) to the sandbox's
// subscribe/send. Messages per second from the first accept to the last
// send, and the 99th percentile of accept→sent.
func BenchmarkMessages_OutboxToSandboxOnMariaDB(b *testing.B) {
	benchmarkMessages(b, serverDB("mysql", sqltest.MySQL(b)))
}

func BenchmarkMessages_OutboxToSandboxOnPostgreSQL(b *testing.B) {
	benchmarkMessages(b, serverDB("postgres", sqltest.Postgres(b)))
}

func benchmarkMessages(b *testing.B, db sqlstore.Options) {
	path, key := writeMessagesKey(b)
	sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: appSecret})
	wx := newSandboxServer(b, sb)
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret, cfg.WeChat.BaseURL = appID, appSecret, wx
	cfg.DB = db
	withMessages(&cfg, path)
	cfg.App.Messages.PollInterval = 50 * time.Millisecond
	var internal wiring.InternalServer
	s := launchQuiet(b, cfg, fx.Populate(&internal))
	svc := &msgServer{server: s, internal: "http://" + internal.Addr(), key: key}

	st, err := sqlstore.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	run := time.Now().UnixNano()
	openIDs := make([]string, b.N)
	for i := range openIDs {
		openIDs[i] = fmt.Sprintf("oBench%d-%d", run, i)
		grant(b, st.Consents, openIDs[i], "tmpl")
		if err := sb.Subscribe(openIDs[i], map[string]string{"tmpl": "accept"}); err != nil {
			b.Fatal(err)
		}
	}
	accepted := make([]time.Time, b.N)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				accepted[i] = time.Now()
				if _, status, _ := svc.sendMessage(b, openIDs[i], "tmpl", fmt.Sprint("bench-", i), "bench"); status != http.StatusAccepted {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for sb.SubscribeStats().Sent < b.N && failed.Load() == 0 {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("%d of %d sent after 5 minutes", sb.SubscribeStats().Sent, b.N)
		}
		time.Sleep(time.Millisecond) // polling the sandbox's count
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d messages not accepted", n)
	}
	if st := sb.SubscribeStats(); st.Sent != b.N || st.Duplicates != 0 || st.Refused != 0 {
		b.Fatalf("the sandbox saw %+v for %d messages", st, b.N)
	}
	byOpenID := map[string]int{}
	for i, id := range openIDs {
		byOpenID[id] = i
	}
	lat := make([]time.Duration, 0, b.N)
	for _, m := range sb.SentMessages() {
		lat = append(lat, m.At.Sub(accepted[byOpenID[m.OpenID]]))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-accept-to-sent-ms")
}

// newSandboxServer serves sb until the benchmark ends and returns its URL.
func newSandboxServer(tb testing.TB, sb *sandbox.Sandbox) string {
	srv := httptest.NewServer(sb.Handler())
	tb.Cleanup(srv.Close)
	return srv.URL
}

// launchQuiet is launch for benchmarks: the server logs nothing.
func launchQuiet(tb testing.TB, cfg config.Config, extra ...fx.Option) *server {
	tb.Helper()
	wiringtest.ServeOn(tb, &cfg, wiringtest.FreeAddr(tb))
	var srv *httpapi.Server
	a := fx.New(wiring.Options(cfg, io.Discard), fx.Populate(&srv), fx.Options(extra...), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Stop(context.Background()) })
	return &server{base: "http://" + srv.Addr(), cfg: cfg, app: a}
}
