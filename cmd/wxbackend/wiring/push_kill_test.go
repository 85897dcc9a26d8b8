package wiring_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/ports"
)

// TestPushFaults_ProcessKilledBetweenStoringAndDelivering: a real server
// process stores a pushed event, starts delivering it, and is killed
// (SIGKILL: no stop hook runs); a new process on the same database delivers
// the event once the dead one's lease has run out.
func TestPushFaults_ProcessKilledBetweenStoringAndDelivering(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server")
	}
	bin := filepath.Join(t.TempDir(), "wxbackend")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../cmd/wxbackend").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	h := newHook(t)
	h.hold, h.held = make(chan struct{}), make(chan struct{}, 1)
	dir := t.TempDir()
	db := sqlstore.Options{Driver: "sqlite", DSN: sqlstore.DSN("file:" + filepath.Join(dir, "wxbackend.db"))}
	start := func() (*exec.Cmd, string) {
		addr := wiringtest.FreeAddr(t)
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(),
			"WXB_HTTP_ADDR="+addr, "WXB_DB_DSN="+string(db.DSN), "WXB_AVATAR_DIR="+filepath.Join(dir, "avatars"),
			"WXB_WECHAT_APP_ID="+appID, "WXB_WECHAT_APP_SECRET="+appSecret, "WXB_WECHAT_BASE_URL=http://127.0.0.1:1",
			"WXB_WECHAT_PUSH_TOKEN="+pushToken, "WXB_WECHAT_PUSH_ENCODING_AES_KEY="+pushKey,
			"WXB_WECHAT_PUSH_WEBHOOK_URL="+h.srv.URL+"/events", "WXB_WECHAT_PUSH_WEBHOOK_SECRET="+webhookSecret,
			"WXB_PUSH_WORKER_LEASE=4s", "WXB_WEBHOOK_TIMEOUT=3s", "WXB_PUSH_POLL_INTERVAL=50ms", "WXB_LOG_LEVEL=warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		waitFor(t, 30*time.Second, "the server listening", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return cmd, "http://" + addr
	}
	first, base := start()
	if status, text := pushTo(t, base, mediaCheck("killed")); status != 200 || text != "success" {
		t.Fatalf("push answered %d %q", status, text)
	}
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the first server never tried to deliver")
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if j := eventState(t, db, "killed"); j.State != ports.JobPending || j.LeaseUntil.IsZero() || j.Attempts != 1 {
		t.Fatalf("after the kill: %+v", j)
	}
	h.mu.Lock()
	close(h.hold)
	h.hold = nil
	h.mu.Unlock()
	start()
	waitFor(t, 20*time.Second, "delivery by the new process", func() bool { return len(h.deliveries()) == 1 })
	waitFor(t, 5*time.Second, "done", func() bool { return eventState(t, db, "killed").State == ports.JobDone })
}
