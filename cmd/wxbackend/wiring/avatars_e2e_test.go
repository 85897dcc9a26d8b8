package wiring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/internal/sim/sandbox"
)

// avatarFile is where the local store keeps the avatar of url.
func avatarFile(cfg config.Config, url string) string {
	name := url[strings.LastIndex(url, "/")+1:]
	return filepath.Join(cfg.Disk.Dir, name[:2], name)
}

// plantAvatar leaves an image no user has in the server's avatar directory,
// stored at, as a crash between storing an upload and writing its user
// leaves one.
func plantAvatar(t *testing.T, cfg config.Config, at time.Time) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	path := avatarFile(cfg, "/"+hex.EncodeToString(b)+".jpg")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("orphan"), 0o644); err != nil {
		t.Fatal(err)
	}
	age(t, path, at)
	return path
}

func age(t *testing.T, path string, at time.Time) {
	t.Helper()
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// uploadAvatar logs user in and uploads their chosen avatar; it returns the
// file it is stored in.
func uploadAvatar(t *testing.T, s *server, user string) string {
	t.Helper()
	ctx := context.Background()
	api := apiclient.New(s.base, nil)
	code, _ := s.sb.Login(ctx, user)
	login, _, err := api.Login(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := api.UploadAvatar(ctx, login.Token, "a.jpg", sandbox.ChosenAvatar(user))
	if err != nil {
		t.Fatal(err)
	}
	file := avatarFile(s.cfg, p.AvatarURL)
	if !exists(file) {
		t.Fatalf("the upload is not in %s", file)
	}
	return file
}

// wxbackend avatars collect, on the server's own stores: an old image no
// user has goes; a young one (an upload's, perhaps, in progress) and a
// user's stay, however old.
func TestOperator_AvatarsCollect(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.DB = sqliteDB(t) })
	used := uploadAvatar(t, s, "keeps-her-avatar")
	now := time.Now()
	age(t, used, now.Add(-30*24*time.Hour))
	orphan := plantAvatar(t, s.cfg, now.Add(-2*time.Hour))
	young := plantAvatar(t, s.cfg, now.Add(-10*time.Minute))

	var out bytes.Buffer
	if err := wiring.RunOperator(s.cfg, wiring.OperatorCommand{Verb: "avatars collect", DryRun: true, Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := out.String(); got != "3 avatars stored, 2 older than 1h0m0s, 1 of those no user has (dry run: nothing deleted)\n" || !exists(orphan) {
		t.Fatalf("dry run said %q; the orphan is there: %v", got, exists(orphan))
	}
	out.Reset()
	if err := wiring.RunOperator(s.cfg, wiring.OperatorCommand{Verb: "avatars collect", Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := out.String(); got != "3 avatars stored, 2 older than 1h0m0s, 1 of those no user has, 1 deleted\n" {
		t.Fatalf("said %q", got)
	}
	if exists(orphan) || !exists(young) || !exists(used) {
		t.Fatalf("after: orphan %v, young %v, used %v", exists(orphan), exists(young), exists(used))
	}
	out.Reset()
	if err := wiring.RunOperator(s.cfg, wiring.OperatorCommand{Verb: "avatars collect", JSON: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res["listed"] != 2.0 || res["deleted"] != 0.0 || res["graceSeconds"] != 3600.0 {
		t.Fatalf("again, as JSON: %v %v (%s)", res, err, out.String())
	}
}

// The server collects on its own, every WXB_AVATAR_COLLECT_INTERVAL, and
// logs what it deleted.
func TestServer_CollectsUnusedAvatarsOnSchedule(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.DB = sqliteDB(t)
		c.Avatars.CollectInterval, c.Avatars.CollectGrace = 20*time.Millisecond, time.Minute
	})
	used := uploadAvatar(t, s, "keeps-his-avatar")
	now := time.Now()
	age(t, used, now.Add(-2*time.Hour))
	orphan := plantAvatar(t, s.cfg, now.Add(-2*time.Hour))
	young := plantAvatar(t, s.cfg, now.Add(-30*time.Second))
	deadline := time.Now().Add(10 * time.Second)
	for exists(orphan) || !strings.Contains(s.logs.String(), "unused avatars deleted") {
		if time.Now().After(deadline) {
			t.Fatalf("the orphan is still there after 10 s; logs:\n%s", s.logs)
		}
		time.Sleep(10 * time.Millisecond) // between polls
	}
	if !exists(used) || !exists(young) {
		t.Fatalf("used %v, young %v", exists(used), exists(young))
	}
}
