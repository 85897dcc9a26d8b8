package loadgen

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// hostileResult is what a hostile run measured.
type hostileResult struct {
	Clients int
	Kinds   []string // each hostile client's kind
	D       time.Duration
	Elapsed time.Duration
	PID     int
	Samples []rssSample // every second, and once after the clients stopped
	PeakHWM int64       // the server's VmHWM at the end: its peak over its whole life
	Honest  []honestUpload
	Answers map[string]map[string]int // kind → answer → count
}

// rssSample is the server's memory at one moment.
type rssSample struct {
	At       time.Duration
	RSS, HWM int64 // VmRSS and VmHWM, bytes
}

// honestUpload is one of the honest user's uploads.
type honestUpload struct {
	At, Latency time.Duration
	Answer      string
	OK          bool // code 0
}

// PeakRSS is the most the server held: its VmHWM, or a larger sampled
// VmRSS.
func (r hostileResult) PeakRSS() int64 {
	peak := r.PeakHWM
	for _, s := range r.Samples {
		peak = max(peak, s.RSS, s.HWM)
	}
	return peak
}

// FinalRSS is the last sample's VmRSS (after the clients stopped).
func (r hostileResult) FinalRSS() int64 {
	if len(r.Samples) == 0 {
		return 0
	}
	return r.Samples[len(r.Samples)-1].RSS
}

// honestStats are the honest uploads' failures (not code 0), slow ones
// (over maxHonestLatency), max and p99 latency.
func (r hostileResult) honestStats() (failed, slow int, maxLat, p99 time.Duration) {
	lat := make([]time.Duration, 0, len(r.Honest))
	for _, u := range r.Honest {
		if !u.OK {
			failed++
		}
		if u.Latency > maxHonestLatency {
			slow++
		}
		lat = append(lat, u.Latency)
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	return failed, slow, lat[len(lat)-1], lat[(len(lat)*99+99)/100-1]
}

// RSSMet says the server stayed under maxHostileRSS throughout (no sample
// means nothing was measured: not met).
func (r hostileResult) RSSMet() bool {
	return len(r.Samples) > 0 && r.PeakRSS() < maxHostileRSS
}

// HonestMet says the honest user uploaded at least once and every upload
// succeeded within maxHonestLatency.
func (r hostileResult) HonestMet() bool {
	failed, slow, _, _ := r.honestStats()
	return len(r.Honest) > 0 && failed == 0 && slow == 0
}

// Passed says both goals were met.
func (r hostileResult) Passed() bool { return r.RSSMet() && r.HonestMet() }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func passFail(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}

// Report renders the run as Markdown.
func (r hostileResult) Report() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Memory under hostile clients (issue 23 item 3)\n\n")
	w("Written by `make hostile` (`go run ./cmd/loadgen hostile`). The server (pid %d) runs on MariaDB with Redis sessions, logins unlimited (one address sets up every hostile session), every other setting its default; the WeChat sandbox and every client run in the load generator's process on loopback.\n\n", r.PID)
	w("%d hostile clients for %v (%s), each sending its next request when the last is answered; ", r.Clients, r.D, mixSummary(r.Kinds))
	w("one honest user uploads a 480×480 JPEG at each tick of %v (one at a time: after a slow one, the next starts at once).\n\n", honestEvery)
	w("## Goals\n\n| goal | measured | |\n|---|---|---|\n")
	w("| server RSS under %s throughout | peak %s (VmHWM), final %s | %s |\n", mib(maxHostileRSS), mib(r.PeakRSS()), mib(r.FinalRSS()), passFail(r.RSSMet()))
	failed, slow, maxLat, p99 := r.honestStats()
	w("| every honest upload succeeds within %v | %d uploads, %d failed, %d over %v; max %v, p99 %v | %s |\n",
		maxHonestLatency, len(r.Honest), failed, slow, maxHonestLatency, round(maxLat), round(p99), passFail(r.HonestMet()))
	w("\nResult: %s\n", passFail(r.Passed()))

	w("\n## Hostile answers\n\n| kind | clients | answer | count |\n|---|---:|---|---:|\n")
	for _, k := range hostileKinds {
		n := countOf(r.Kinds, k.name)
		if n == 0 {
			continue
		}
		answers := r.Answers[k.name]
		keys := make([]string, 0, len(answers))
		for a := range answers {
			keys = append(keys, a)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			w("| %s (%s) | %d | none in time | 0 |\n", k.name, k.what, n)
		}
		for _, a := range keys {
			w("| %s (%s) | %d | %s | %d |\n", k.name, k.what, n, a, answers[a])
		}
	}

	if fails := r.honestFailures(); len(fails) > 0 {
		w("\n## Honest uploads that failed or were slow\n\n| at | latency | answer |\n|---:|---:|---|\n")
		for _, u := range fails {
			w("| %v | %v | %s |\n", u.At.Round(time.Millisecond), round(u.Latency), u.Answer)
		}
	}

	w("\n## Server memory, every second\n\n| at | VmRSS | VmHWM |\n|---:|---:|---:|\n")
	for i, s := range r.Samples {
		label := s.At.Round(time.Second).String()
		if i == len(r.Samples)-1 && i > 0 {
			label += " (clients stopped)"
		}
		w("| %s | %s | %s |\n", label, mib(s.RSS), mib(s.HWM))
	}
	return b.String()
}

// honestFailures lists the honest uploads that missed the goal, at most 20.
func (r hostileResult) honestFailures() []honestUpload {
	var out []honestUpload
	for _, u := range r.Honest {
		if (!u.OK || u.Latency > maxHonestLatency) && len(out) < 20 {
			out = append(out, u)
		}
	}
	return out
}
