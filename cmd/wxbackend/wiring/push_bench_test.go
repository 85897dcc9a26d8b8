package wiring_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"wxbackend/adapters/httpapi"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

// BenchmarkPush_ReceiveOnMariaDB measures WeChat's pushes received (verified,
// decrypted, stored in MariaDB, answered success) by a whole server over
// HTTP, 32 at a time, while its worker delivers them to a webhook: events
// per second and the 99th percentile of the answer.
func BenchmarkPush_ReceiveOnMariaDB(b *testing.B) {
	h := newHook(b)
	cfg := config.Default()
	cfg.WeChat.AppID, cfg.WeChat.Secret = appID, appSecret
	cfg.DB = serverDB("mysql", sqltest.MySQL(b))
	withPush(&cfg, h)
	wiringtest.ServeOn(b, &cfg, wiringtest.FreeAddr(b))
	var srv *httpapi.Server
	a := fx.New(wiring.Options(cfg, io.Discard), fx.Populate(&srv), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Stop(context.Background()) })
	base := "http://" + srv.Addr()
	pushes := make([]sandbox.Push, b.N)
	for i := range pushes {
		msg := sandbox.EventXML(map[string]any{"ToUserName": "gh_bench", "FromUserName": fmt.Sprint("oBench", i%500),
			"CreateTime": time.Now().Unix(), "MsgType": "event", "Event": "wxa_media_check", "trace_id": fmt.Sprint("bench-", i), "version": 2})
		p, err := sandbox.NewPush(sandbox.PushApp{AppID: appID, Token: pushToken, EncodingAESKey: pushKey}, sandbox.PushSafe, domain.PushXML, msg, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		pushes[i] = p
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := base + "/wechat/push/" + appID
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				t0 := time.Now()
				status, text, err := pushes[i].Send(context.Background(), client, url)
				latencies[i] = time.Since(t0)
				if err != nil || status != 200 || text != "success" {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d pushes not answered success", n)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
