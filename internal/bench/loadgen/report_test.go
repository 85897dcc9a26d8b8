package loadgen

import (
	"strings"
	"testing"
	"time"
)

// TestPairs_MatchesWxbackendWithTheOtherServer checks the report's pairing:
// wxbackend's run against the named server's run of the same store and
// scenario, never the seed against the baseline.
func TestPairs_MatchesWxbackendWithTheOtherServer(t *testing.T) {
	run := func(server, store, route string, ok int) Result {
		return Result{Scenario: Scenario{Route: route}, Server: server, Store: store, OK: ok}
	}
	results := []Result{
		run("wxbackend", "mysql", "login", 1), run("baseline", "mysql", "login", 2), run("seed", "mysql", "login", 3),
		run("wxbackend", "sqlite", "login", 4), run("baseline", "sqlite", "login", 5),
	}
	base := pairs(results, "baseline")
	if len(base) != 2 || base[0][0].OK != 1 || base[0][1].OK != 2 || base[1][0].OK != 4 || base[1][1].OK != 5 {
		t.Fatalf("pairs with baseline = %+v", base)
	}
	seed := pairs(results, "seed")
	if len(seed) != 1 || seed[0][0].OK != 1 || seed[0][1].OK != 3 {
		t.Fatalf("pairs with seed = %+v", seed)
	}
}

// TestScale_DerivesTheEstimateFromTheRuns checks the scale section's
// arithmetic on made-up costs, and that it stays silent without them.
func TestScale_DerivesTheEstimateFromTheRuns(t *testing.T) {
	run := func(route string, changing bool, cpu time.Duration) Result {
		return Result{Scenario: Scenario{Route: route, Changing: changing}, Server: "wxbackend", Store: "mysql + redis",
			Requests: 1000, OK: 1000, Elapsed: time.Second, CPU: 1000 * cpu}
	}
	results := []Result{run("getinfo", false, 200*time.Microsecond), run("getinfo", true, 400*time.Microsecond), run("login", false, 500*time.Microsecond)}
	micro := parseBench("BenchmarkRedisBytesPerSession-2   	       1	4181013626 ns/op	      1000 B/session	         3.000 keys/session\n")
	got := scale(results, micro)
	for _, want := range []string{
		"| /getinfo/ same | 200µs | 5000 |",
		"**500 launches per second**", // 10M × 30% × 2 × 15% / 3600 × 2
		"a launch costs 704µs",        // 500 + 0.98×200 + 0.02×400 µs
		"**505 per second without",    // 1% new users + every upload
		"**15 with it**",              // 1% new users + 2% changed uploads
		"reads 0 per second",          // a new user's INSERT is not read back
		"3.02 round trips per launch", // create and cache read, the session read (bringing the copy), and 2% cache writes
		"2510 per second at peak",     // (2.02 + 2 for the limits) × 500
		"1000 bytes of `used_memory`", //
		"up to 6 million tokens live", // a day's launches
		"at most 5.6 GiB",             // 6M × 1000 B
		"**A 10-million-user mini-program.**",
		"one primary carries this peak even without the skip", // 1000 changing uploads/s ≥ 505 writes/s
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scale section lacks %q:\n%s", want, got)
		}
	}
	slow := append([]Result(nil), results...)
	slow[1].OK = 300 // 300 changing uploads/s < 505 writes/s
	if got := scale(slow, micro); !strings.Contains(got, "below the peak's writes without the skip") {
		t.Errorf("a database slower than the peak's writes is not called out:\n%s", got)
	}
	if s := scale(results[:2], micro); s != "" {
		t.Errorf("without a login run: %q, want nothing", s)
	}
}

// The README's headline is rewritten between its markers only, from the
// MariaDB + memory runs, with the ratio to the baseline.
func TestHeadline_IsSplicedBetweenTheMarkers(t *testing.T) {
	run := func(server, route string, ok int) Result {
		return Result{Scenario: Scenario{Route: route, Concurrency: 32}, Server: server, Store: "mysql + memory",
			Requests: ok, OK: ok, Elapsed: time.Second, CPU: time.Duration(ok) * 100 * time.Microsecond, Mallocs: uint64(ok) * 150}
	}
	results := []Result{run("wxbackend", "login-new", 3000), run("baseline", "login-new", 2000), run("floor", "floor", 9000)}
	h := Headline(results, time.Date(2026, 12, 2, 17, 50, 0, 0, time.UTC))
	for _, want := range []string{"2026-12-02 17:50 UTC", "32 connections", "/login/ new user: **3000 req/s, 1.50× the baseline**", "100µs of server CPU and 150 allocations"} {
		if !strings.Contains(h, want) {
			t.Errorf("headline lacks %q:\n%s", want, h)
		}
	}
	readme := "# X\n\nbefore\n<!-- bench-headline: written by make bench from its run; do not edit by hand -->\nold numbers\n<!-- /bench-headline -->\nafter\n"
	got, err := SpliceHeadline(readme, h)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "old numbers") || !strings.Contains(got, h) || !strings.HasSuffix(got, "<!-- /bench-headline -->\nafter\n") || !strings.HasPrefix(got, "# X\n\nbefore\n") {
		t.Fatalf("spliced:\n%s", got)
	}
	if _, err := SpliceHeadline("# no markers\n", h); err == nil {
		t.Fatal("a README without markers was accepted")
	}
}

// A run without the gateway part keeps the last report's gateway section.
func TestSection_IsWhatSpliceReplaces(t *testing.T) {
	doc := "# B\n\n## Load\n\nrows\n\n" + gatewayHeading + "\n\ngateway rows\n\n## Micro\n\nmicro\n"
	sec := section(doc, gatewayHeading)
	if sec != gatewayHeading+"\n\ngateway rows\n\n" {
		t.Fatalf("section %q", sec)
	}
	fresh := "# B\n\n## Load\n\nnew rows\n\n" + gatewayHeading + "\n\n\n## Micro\n\nnew micro\n"
	got := spliceSection(fresh, gatewayHeading, sec)
	if !strings.Contains(got, "gateway rows") || !strings.Contains(got, "new micro") || !strings.Contains(got, "new rows") {
		t.Fatalf("spliced:\n%s", got)
	}
}
