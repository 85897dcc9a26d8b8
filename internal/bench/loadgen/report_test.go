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
		"reads 10 per second",         // 2 SELECTs for each of 1% new users
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
