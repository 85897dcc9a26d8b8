package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// writeCounter records what a paced body writes.
type writeCounter struct {
	writes int
	buf    bytes.Buffer
}

func (w *writeCounter) Write(b []byte) (int, error) {
	w.writes++
	return w.buf.Write(b)
}

func TestPace_SpreadsTheBodyOverTheHold(t *testing.T) {
	p := pace{Chunk: 16 << 10, Hold: 8 * time.Second}
	if got := p.writes(2 << 20); got != 128 {
		t.Errorf("writes(2 MiB) = %d, want 128", got)
	}
	if got := p.gap(2 << 20); got != 8*time.Second/127 {
		t.Errorf("gap(2 MiB) = %v, want 8s/127", got)
	}
	if got := p.writes(1); got != 1 || p.gap(1) != 0 {
		t.Errorf("one byte: %d writes, gap %v; want 1 write, no gap", got, p.gap(1))
	}
}

// TestWritePaced_WritesTheBodyInBoundedWrites: the whole body, as read, in
// exactly writes(size) writes of at most a chunk.
func TestWritePaced_WritesTheBodyInBoundedWrites(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 10_000) // 100,000 bytes
	p := pace{Chunk: 16 << 10, Hold: 30 * time.Millisecond}
	var w writeCounter
	n, err := writePaced(context.Background(), &w, bytes.NewReader(body), len(body), p, nil)
	if err != nil || n != len(body) {
		t.Fatalf("writePaced = %d, %v; want %d, nil", n, err, len(body))
	}
	if w.writes != 7 || !bytes.Equal(w.buf.Bytes(), body) {
		t.Fatalf("%d writes of %d bytes, want 7 of the body's %d", w.writes, w.buf.Len(), len(body))
	}
}

// TestWritePaced_StopsEarly: an answer or the context's end stops the body
// after the write in progress, whatever is left of it.
func TestWritePaced_StopsEarly(t *testing.T) {
	p := pace{Chunk: 1000, Hold: time.Hour} // would take an hour if it did not stop
	answered := make(chan struct{})
	close(answered)
	var w writeCounter
	n, err := writePaced(context.Background(), &w, zeros{}, 1<<20, p, answered)
	if !errors.Is(err, errAnswered) || n != 1000 || w.writes != 1 {
		t.Errorf("answered: %d bytes in %d writes, %v; want the first chunk only, errAnswered", n, w.writes, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = writeCounter{}
	n, err = writePaced(ctx, &w, zeros{}, 1<<20, p, nil)
	if !errors.Is(err, context.Canceled) || n != 1000 || w.writes != 1 {
		t.Errorf("cancelled: %d bytes in %d writes, %v; want the first chunk only, context.Canceled", n, w.writes, err)
	}
}

// TestSlowUpload_NamesTheAnswer: a server that answers before reading the
// body is seen early; one that reads it all first, after the body.
func TestSlowUpload_NamesTheAnswer(t *testing.T) {
	answer := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":2,"status":2,"msg":"无效的token","data":null}`)
	}
	early := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w) }))
	t.Cleanup(early.Close)
	reads := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("a slow upload sent Authorization %q, want none", a)
		}
		n, _ := io.Copy(io.Discard, r.Body)
		if n < 300_000 {
			t.Errorf("the server read %d bytes, want the whole body", n)
		}
		answer(w)
	}))
	t.Cleanup(reads.Close)

	got, wasEarly, ok := slowUpload(context.Background(), strings.TrimPrefix(early.URL, "http://"), 1<<20, pace{Chunk: 4 << 10, Hold: time.Hour})
	if got != "HTTP 401, code 2" || !wasEarly || !ok {
		t.Errorf("a server that answers at once: %q, early %v, ok %v", got, wasEarly, ok)
	}
	got, wasEarly, ok = slowUpload(context.Background(), strings.TrimPrefix(reads.URL, "http://"), 300_000, pace{Chunk: 64 << 10, Hold: 20 * time.Millisecond})
	if got != "HTTP 401, code 2" || wasEarly || !ok {
		t.Errorf("a server that reads the body: %q, early %v, ok %v", got, wasEarly, ok)
	}
}

func TestParseMixAndAssign_CountsAddUp(t *testing.T) {
	mix, err := parseMix("slow:2,jpeg:1,png:1")
	if err != nil {
		t.Fatal(err)
	}
	kinds := assign(mix, 200)
	if len(kinds) != 200 || countOf(kinds, kindSlow) != 100 || countOf(kinds, kindJPEG) != 50 || countOf(kinds, kindPNG) != 50 {
		t.Errorf("assign(2:1:1, 200) = %s", mixSummary(kinds))
	}
	mix, _ = parseMix("slow:1,fit-jpeg:1,fit-png:1")
	if kinds := assign(mix, 200); len(kinds) != 200 || mixSummary(kinds) != "67 slow, 67 fit-jpeg, 66 fit-png" {
		t.Errorf("assign(1:1:1, 200) = %s (%d)", mixSummary(kinds), len(kinds))
	}
	for _, bad := range []string{"slow", "slow:x", "slow:-1", "bomb:1"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q): no error", bad)
		}
	}
}

// TestHostileResult_Judgement holds the PASS/FAIL to the two goals and
// their edges: nothing measured is no pass.
func TestHostileResult_Judgement(t *testing.T) {
	good := func() hostileResult {
		return hostileResult{
			Samples: []rssSample{{RSS: 30 << 20, HWM: 30 << 20}, {At: time.Second, RSS: 200 << 20, HWM: 210 << 20}},
			PeakHWM: 210 << 20,
			Honest:  []honestUpload{{Latency: 100 * time.Millisecond, OK: true}, {Latency: maxHonestLatency, OK: true}},
		}
	}
	cases := []struct {
		name          string
		change        func(*hostileResult)
		rssOK, honest bool
	}{
		{"both met", func(*hostileResult) {}, true, true},
		{"peak at the limit", func(r *hostileResult) { r.PeakHWM = maxHostileRSS }, false, true},
		{"a sample over the limit", func(r *hostileResult) { r.Samples[1].RSS = maxHostileRSS + 1 }, false, true},
		{"no samples", func(r *hostileResult) { r.Samples, r.PeakHWM = nil, 0 }, false, true},
		{"an honest upload failed", func(r *hostileResult) { r.Honest[0].OK = false }, true, false},
		{"an honest upload was slow", func(r *hostileResult) { r.Honest[1].Latency = maxHonestLatency + time.Millisecond }, true, false},
		{"no honest uploads", func(r *hostileResult) { r.Honest = nil }, true, false},
	}
	for _, c := range cases {
		r := good()
		c.change(&r)
		if r.RSSMet() != c.rssOK || r.HonestMet() != c.honest || r.Passed() != (c.rssOK && c.honest) {
			t.Errorf("%s: RSS met %v, honest met %v, passed %v; want %v, %v", c.name, r.RSSMet(), r.HonestMet(), r.Passed(), c.rssOK, c.honest)
		}
	}
}

func TestHostileReport_ShowsTheFigures(t *testing.T) {
	r := hostileResult{
		Clients: 4, Kinds: []string{kindSlow, kindSlow, kindJPEG, kindPNG}, D: time.Minute, PID: 42,
		Samples: []rssSample{{RSS: 20 << 20, HWM: 20 << 20}, {At: time.Second, RSS: 600 << 20, HWM: 610 << 20}, {At: 61 * time.Second, RSS: 300 << 20, HWM: 650 << 20}},
		PeakHWM: 650 << 20,
		Honest: []honestUpload{
			{At: time.Second, Latency: 50 * time.Millisecond, Answer: "HTTP 200, code 0", OK: true},
			{At: 2 * time.Second, Latency: 3 * time.Second, Answer: "HTTP 200, code 0", OK: true},
			{At: 3 * time.Second, Latency: 5 * time.Second, Answer: "HTTP 429, code 7"},
		},
		Answers: map[string]map[string]int{
			kindSlow: {"HTTP 401, code 2": 30, "connection reset": 2},
			kindJPEG: {"HTTP 413, code 11": 900},
		},
	}
	got := r.Report()
	for _, want := range []string{
		"4 hostile clients for 1m0s (2 slow, 1 jpeg, 1 png), each",
		"| server RSS under 256.0 MiB throughout | peak 650.0 MiB (VmHWM), final 300.0 MiB | **FAIL** |",
		"| 3 uploads, 1 failed, 2 over 2s; max 5s, p99 5s | **FAIL** |",
		"Result: **FAIL**",
		"| slow (unauthenticated upload, 2 MiB image part sent slowly) | 2 | HTTP 401, code 2 | 30 |",
		"| slow (unauthenticated upload, 2 MiB image part sent slowly) | 2 | connection reset | 2 |",
		"| jpeg (progressive 4898×4898 4:4:4 JPEG bomb, 141 KB) | 1 | HTTP 413, code 11 | 900 |",
		"| png (16-bit RGBA 4898×4898 PNG, 187 KB) | 1 | none in time | 0 |",
		"| 3s | 5s | HTTP 429, code 7 |",
		"| 1s | 600.0 MiB | 610.0 MiB |",
		"| 1m1s (clients stopped) | 300.0 MiB | 650.0 MiB |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "fit-jpeg") {
		t.Errorf("report lists a kind no client had:\n%s", got)
	}
	r.Samples, r.PeakHWM = r.Samples[:1], 20<<20
	r.Honest = r.Honest[:1]
	if got := r.Report(); !strings.Contains(got, "Result: **PASS**") || strings.Contains(got, "failed or were slow") {
		t.Errorf("a run within both goals:\n%s", got)
	}
}
