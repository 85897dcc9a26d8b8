package wiring_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wxbackend/adapters/sqlstore"
	"wxbackend/adapters/sqlstore/sqltest"
	"wxbackend/adapters/testenv/tcpproxy"
	"wxbackend/adapters/webhook"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
)

const (
	pushToken     = "e2e-push-token"
	pushKey       = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	webhookSecret = "e2e-webhook-secret"
)

// hook is a team's webhook: it checks each delivery's signature and records
// it; while down it answers 503; while holding, it keeps requests waiting.
type hook struct {
	mu      sync.Mutex
	down    bool
	hold    chan struct{} // non-nil: requests wait for it to close
	held    chan struct{} // signalled when a request is held
	got     []webhook.Delivery
	badSigs int
	srv     *httptest.Server
}

func newHook(t testing.TB) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write([]byte(r.Header.Get("X-WXB-Timestamp") + "." + string(body)))
	ok := hmac.Equal([]byte("sha256="+hex.EncodeToString(m.Sum(nil))), []byte(r.Header.Get("X-WXB-Signature")))
	h.mu.Lock()
	hold, held := h.hold, h.held
	h.mu.Unlock()
	if hold != nil {
		select {
		case held <- struct{}{}:
		default:
		}
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusServiceUnavailable)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok {
		h.badSigs++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var d webhook.Delivery
	_ = json.Unmarshal(body, &d)
	h.got = append(h.got, d)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hook) deliveries() []webhook.Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]webhook.Delivery(nil), h.got...)
}

// withPush configures the server's app to receive pushes in safe mode and
// deliver them to h, with a fast worker.
func withPush(cfg *config.Config, h *hook) {
	cfg.Push.Token, cfg.Push.EncodingAESKey = pushToken, pushKey
	cfg.Push.WebhookURL, cfg.Push.WebhookSecret = h.srv.URL+"/events", webhookSecret
	cfg.App.Push.PollInterval = 20 * time.Millisecond
	cfg.App.Push.BackoffBase, cfg.App.Push.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	cfg.Push.Webhook.Timeout = 5 * time.Second
}

// pushTo sends an event as WeChat would, in safe mode, and returns the answer.
func pushTo(t *testing.T, base string, msg []byte) (int, string) {
	t.Helper()
	p, err := sandbox.NewPush(sandbox.PushApp{AppID: appID, Token: pushToken, EncodingAESKey: pushKey}, sandbox.PushSafe, domain.PushXML, msg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, text, err := p.Send(ctx, http.DefaultClient, base+"/wechat/push/"+appID)
	if err != nil {
		return 0, err.Error()
	}
	return status, text
}

func mediaCheck(trace string) []byte {
	return sandbox.EventXML(map[string]any{"ToUserName": "gh_e2e", "FromUserName": "oE2E", "CreateTime": time.Now().Unix(),
		"MsgType": "event", "Event": "wxa_media_check", "trace_id": trace, "version": 2,
		"result": map[string]any{"suggest": "pass", "label": 100}})
}

// waitFor polls cond for up to within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventState reads the event of trace in the database at dsn.
func eventState(t *testing.T, db sqlstore.Options, trace string) ports.Job[domain.PushEvent] {
	t.Helper()
	st, err := sqlstore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, err := st.Inbox.List(context.Background(), ports.JobFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Item.DedupKey == "trace:"+trace {
			return j
		}
	}
	return ports.Job[domain.PushEvent]{}
}

func TestPush_E2E_ReceivedStoredAndDeliveredSigned(t *testing.T) {
	h := newHook(t)
	db := sqliteDB(t)
	s := startServer(t, func(c *config.Config) { c.DB = db; withPush(c, h) })
	if status, text := pushTo(t, s.base, mediaCheck("e2e-1")); status != 200 || text != "success" {
		t.Fatalf("push answered %d %q", status, text)
	}
	waitFor(t, 10*time.Second, "delivery", func() bool { return len(h.deliveries()) == 1 })
	d := h.deliveries()[0]
	if d.AppID != appID || d.Event != "wxa_media_check" || d.FromUser != "oE2E" || h.badSigs != 0 {
		t.Fatalf("delivered %+v (%d bad signatures)", d, h.badSigs)
	}
	if label, ok := domain.PushText(d.Payload, "trace_id"); !ok || label != "e2e-1" {
		t.Fatalf("payload %s", d.Payload)
	}
	waitFor(t, 5*time.Second, "done", func() bool { return eventState(t, db, "e2e-1").State == ports.JobDone })
}

// TestPushFaults_ServerGoneBetweenStoringAndDelivering: a server that
// stored an event and stopped in the middle of delivering it (its lease
// held, no outcome written, as a killed process leaves it) is replaced by
// another on the same database, which delivers the event once the lease has
// run out.
func TestPushFaults_ServerGoneBetweenStoringAndDelivering(t *testing.T) {
	h := newHook(t)
	db := sqliteDB(t)
	h.hold, h.held = make(chan struct{}), make(chan struct{}, 1)
	first := startServer(t, func(c *config.Config) {
		c.DB = db
		withPush(c, h)
		c.App.Push.Lease, c.Push.Webhook.Timeout = 4*time.Second, 3*time.Second
	})
	if status, text := pushTo(t, first.base, mediaCheck("gone")); status != 200 || text != "success" {
		t.Fatalf("push answered %d %q", status, text)
	}
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the first server never tried to deliver")
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.app.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if j := eventState(t, db, "gone"); j.State != ports.JobPending || j.LeaseUntil.IsZero() {
		t.Fatalf("after the first server: %+v", j)
	}
	h.mu.Lock()
	close(h.hold)
	h.hold = nil
	h.mu.Unlock()
	startServer(t, func(c *config.Config) { c.DB = db; withPush(c, h) })
	waitFor(t, 15*time.Second, "delivery by the second server", func() bool { return len(h.deliveries()) == 1 })
	waitFor(t, 5*time.Second, "done", func() bool { return eventState(t, db, "gone").State == ports.JobDone })
	if j := eventState(t, db, "gone"); j.Attempts != 2 {
		t.Fatalf("attempts %d, want 2 (the gone server's, the second's)", j.Attempts)
	}
}

// TestPushFaults_DatabaseDownIsAnErrorThenStored: with the database cut,
// WeChat's push is answered an error within its 5 s (never success); its
// retry once the database is back is stored and delivered once.
func TestPushFaults_DatabaseDownIsAnErrorThenStored(t *testing.T) {
	h := newHook(t)
	dsn := sqltest.MySQL(t)
	migrated := serverDB("mysql", dsn)
	st, err := sqlstore.Open(migrated)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	proxy := tcpproxy.Start(t, sqltest.MySQLServerAddr(t))
	db := serverDB("mysql", sqltest.WithAddr(t, "mysql", dsn, proxy.Addr()))
	db.QueryTimeout = 2 * time.Second
	s := startServer(t, func(c *config.Config) { c.DB = db; withPush(c, h) })
	proxy.Down()
	start := time.Now()
	status, text := pushTo(t, s.base, mediaCheck("db-down"))
	if status == 200 || text == "success" {
		t.Fatalf("with the database down: %d %q", status, text)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answered after %v: WeChat gives up at 5 s", d)
	}
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the retry stored", func() bool {
		status, text := pushTo(t, s.base, mediaCheck("db-down"))
		return status == 200 && text == "success"
	})
	waitFor(t, 15*time.Second, "delivery", func() bool { return len(h.deliveries()) == 1 })
}

// TestPushFaults_TwoServersReceiveTheSameRetriedEvent: WeChat's retries of
// one event reach two servers on one database (MariaDB, PostgreSQL): it is
// stored once and delivered once.
func TestPushFaults_TwoServersReceiveTheSameRetriedEvent(t *testing.T) {
	for _, c := range []struct {
		driver string
		dsn    func(testing.TB) string
	}{{"mysql", sqltest.MySQL}, {"postgres", sqltest.Postgres}} {
		t.Run(c.driver, func(t *testing.T) {
			h := newHook(t)
			db := serverDB(c.driver, c.dsn(t))
			shared := newSharedSandbox(t)
			servers := []*server{
				startServerOn(t, shared, func(cfg *config.Config) { cfg.DB = db; withPush(cfg, h) }),
				startServerOn(t, shared, func(cfg *config.Config) { cfg.DB = db; withPush(cfg, h) }),
			}
			for i := range 3 {
				trace := fmt.Sprint("twice-", i)
				var wg sync.WaitGroup
				for _, s := range []*server{servers[0], servers[1], servers[0], servers[1]} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if status, text := pushTo(t, s.base, mediaCheck(trace)); status != 200 || text != "success" {
							t.Errorf("push answered %d %q", status, text)
						}
					}()
				}
				wg.Wait()
			}
			for i := range 3 {
				trace := fmt.Sprint("twice-", i)
				waitFor(t, 15*time.Second, "done", func() bool { return eventState(t, db, trace).State == ports.JobDone })
			}
			got := map[string]int{}
			for _, d := range h.deliveries() {
				trace, _ := domain.PushText(d.Payload, "trace_id")
				got[trace]++
			}
			if len(got) != 3 || got["twice-0"] != 1 || got["twice-1"] != 1 || got["twice-2"] != 1 {
				t.Fatalf("delivered %v, want each once", got)
			}
		})
	}
}
