package wiring_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"wxbackend/adapters/sqlstore"
	"wxbackend/cmd/wxbackend/wiring/wiringtest"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
	"wxbackend/ports"
)

// TestMessageFaults_ProcessKilledBeforeSending: a real server process
// accepts a message (stored), its worker starts sending it and is killed
// (SIGKILL) before WeChat has done anything with the call; a new process on
// the same database sends the message once the dead one's lease has run
// out: WeChat sees it exactly once.
func TestMessageFaults_ProcessKilledBeforeSending(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server")
	}
	bin := filepath.Join(t.TempDir(), "wxbackend")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../cmd/wxbackend").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sb := sandbox.New(sandbox.Options{AppID: appID, AppSecret: appSecret})
	wx := httptest.NewServer(sb.Handler())
	t.Cleanup(wx.Close)
	const sendPath, openID = "cgi-bin/message/subscribe/send", "oKilled"
	if err := sb.Subscribe(openID, map[string]string{"tmpl": "accept"}); err != nil {
		t.Fatal(err)
	}
	hold, arrived := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(hold) })
	sb.InjectAPIFault(sendPath, sandbox.Fault{Wait: hold, Arrived: arrived})

	keys, key := writeMessagesKey(t)
	dir := t.TempDir()
	db := sqlstore.Options{Driver: "sqlite", DSN: sqlstore.DSN("file:" + filepath.Join(dir, "wxbackend.db"))}
	start := func() (*exec.Cmd, *msgServer) {
		addr, internal := wiringtest.FreeAddr(t), wiringtest.FreeAddr(t)
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(),
			"WXB_HTTP_ADDR="+addr, "WXB_DB_DSN="+string(db.DSN), "WXB_AVATAR_DIR="+filepath.Join(dir, "avatars"),
			"WXB_WECHAT_APP_ID="+appID, "WXB_WECHAT_APP_SECRET="+appSecret, "WXB_WECHAT_BASE_URL="+wx.URL,
			"WXB_INTERNAL_ADDR="+internal, "WXB_INTERNAL_KEYS_FILE="+keys,
			"WXB_MESSAGES_LEASE=4s", "WXB_MESSAGES_POLL_INTERVAL=50ms", "WXB_LOG_LEVEL=warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		waitFor(t, 30*time.Second, "the server listening", func() bool {
			c, err := net.Dial("tcp", internal)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return cmd, &msgServer{server: &server{base: "http://" + addr}, internal: "http://" + internal, key: key}
	}
	first, s := start()
	st, err := sqlstore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	grant(t, st.Consents, openID, "tmpl")
	e, status, v := s.sendMessage(t, openID, "tmpl", "killed", "killed mid-send")
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %+v", status, e)
	}
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first server never tried to send")
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	j, err := st.Outbox.Get(t.Context(), v.ID)
	if err != nil || j.State != ports.JobPending || j.LeaseUntil.IsZero() || j.Attempts != 1 || j.Item.Status != domain.MessageQueued {
		t.Fatalf("after the kill: %+v %v", j, err)
	}
	if got := sb.SubscribeStats(); got.Sent != 0 {
		t.Fatalf("the killed server's call sent it: %+v", got)
	}
	_, s = start()
	waitFor(t, 20*time.Second, "sent by the new process", func() bool { return s.message(t, v.ID).Status == domain.MessageSent })
	if got := s.message(t, v.ID); got.State != ports.JobDone || got.Attempts != 2 || got.Unknown != 0 {
		t.Fatalf("after the restart: %+v", got)
	}
	if got := sb.SubscribeStats(); got != (sandbox.SubscribeStats{Sent: 1}) {
		t.Fatalf("the sandbox saw %+v; want one sent, no duplicate", got)
	}
	if n := sb.APICalls()[sendPath]; n != 2 {
		t.Fatalf("WeChat was called %d times, want 2 (the killed call and the one that sent)", n)
	}
}
