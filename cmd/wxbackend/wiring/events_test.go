package wiring_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxbackend/cmd/wxbackend/config"
	"wxbackend/cmd/wxbackend/wiring"
	"wxbackend/ports"
)

// TestEvents_ListShowReplay: an event the webhook refused until it died is
// listed, shown, and replayed by the operator's commands, then delivered.
func TestEvents_ListShowReplay(t *testing.T) {
	h := newHook(t)
	h.down = true
	db := sqliteDB(t)
	s := startServer(t, func(c *config.Config) { c.DB = db; withPush(c, h); c.App.Push.MaxAttempts = 2 })
	if status, text := pushTo(t, s.base, mediaCheck("replay-me")); status != 200 || text != "success" {
		t.Fatalf("push answered %d %q", status, text)
	}
	waitFor(t, 10*time.Second, "dead", func() bool { return eventState(t, db, "replay-me").State == ports.JobDead })
	id := eventState(t, db, "replay-me").ID
	run := func(cmd wiring.EventsCommand) (string, error) {
		var out bytes.Buffer
		cmd.Out = &out
		err := wiring.RunEvents(s.cfg, cmd)
		return out.String(), err
	}
	out, err := run(wiring.EventsCommand{Verb: "events list", State: ports.JobDead})
	if err != nil || !strings.Contains(out, "wxa_media_check") || !strings.Contains(out, "dead") || !strings.Contains(out, "HTTP 503") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = run(wiring.EventsCommand{Verb: "events show", Target: itoa(id), JSON: true})
	if err != nil || !strings.Contains(out, `"trace_id": "replay-me"`) && !strings.Contains(out, `"trace_id":"replay-me"`) {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if _, err := run(wiring.EventsCommand{Verb: "events show", Target: "999999"}); !errors.Is(err, wiring.ErrNotFound) || !strings.Contains(err.Error(), "no event 999999") {
		t.Fatalf("show of none: %v", err)
	}
	h.mu.Lock()
	h.down = false
	h.mu.Unlock()
	if out, err := run(wiring.EventsCommand{Verb: "events replay", Target: itoa(id)}); err != nil || !strings.Contains(out, "pending again") {
		t.Fatalf("replay: %v %s", err, out)
	}
	waitFor(t, 10*time.Second, "delivery after the replay", func() bool { return len(h.deliveries()) == 1 })
	if _, err := run(wiring.EventsCommand{Verb: "events replay", Target: itoa(id)}); err == nil || !strings.Contains(err.Error(), "not dead") {
		t.Fatalf("replay of a delivered event: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
