package loadgen

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Budgets of the performance issue, checked in the report.
const (
	minThroughputRatio = 0.90
	maxP99Ratio        = 1.2
	maxCPUPerGetinfo   = 100 * time.Microsecond
	maxOpenVsRaw       = 2.0
	maxAllocsPerKB     = 2.0
	maxHeapPerSession  = 300.0
)

// Report renders the matrix's results and the micro benchmarks as Markdown.
func Report(m MatrixConfig, results []Result, micro string, started time.Time) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Benchmarks\n\n")
	w("Written by `make bench` (`go run ./cmd/loadgen matrix`) on %s. Do not edit by hand.\n\n", started.UTC().Format("2006-01-02 15:04 MST"))
	w("## Machine\n\n%s\n", machine())
	w("## Load runs\n\n")
	w("Each run: K = %d users logged in through the WeChat sandbox first, then C = %d connections for D = %v (after %v of warm-up) ", m.Users, m.C, m.D, m.Warmup)
	w("against one server process; each scenario runs %d times per server, alternating which server goes first, and the tables show the run of median throughput (with the range of all runs). ", m.Rounds)
	w("Load generator, servers and databases share the machine. ")
	w("Every success is checked (code 0 and the profile just sent, or a token). ")
	w("*same*: each user re-sends one profile; *changing*: every request carries a profile different from the user's previous one, so every request writes. ")
	w("`/login/` gets a fresh `wx.login` code each time. wxbackend runs as deployed, at log level `%s` (an access-log line per request). ", m.LogLevel)
	w("The **baseline** (`cmd/baseline`) does the same work with no architecture: plain `net/http`, `database/sql`, a map or plain Redis `GET`/`SET`, the same decrypt and the same `UPDATE`, no logging.\n\n")
	w("Rate limits are off in these runs: one client drives all the load, so they would only measure themselves.\n\n")
	w("Server CPU is the server's own, its child processes included (from `/proc`): it excludes MySQL, PostgreSQL and Redis, and includes SQLite, which runs inside the server.\n\n")

	w("### Against the baseline (issue 28's goals)\n\n")
	w("Goals: a new user's login ≥ 1.0× the baseline and ≤ 160 µs of server CPU on MariaDB with memory sessions; a changing profile ≥ 1.0×; ")
	w("an unchanged one ≥ 2× and ≤ 60 µs; a returning user's login ≥ 2×. Allocations are the server's heap objects per request ")
	w("(`go_memstats_mallocs_total` of wxbackend's `/metrics`, the baseline's `runtime.MemStats`), over the measured phase.\n\n")
	w("| store | route | wxbackend req/s | baseline req/s | ratio | p50 wxbackend / baseline | p99 wxbackend / baseline | CPU/request wxbackend / baseline | allocs/request wxbackend / baseline | goal |\n")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, pair := range pairs(results, "baseline") {
		ours, base := pair[0], pair[1]
		ratio := ours.RPS() / base.RPS()
		w("| %s | %s | %.0f | %.0f | %.2f× | %v / %v | %v / %v | %v / %v | %s / %s | %s |\n", ours.Store, ours.Label(), ours.RPS(), base.RPS(), ratio,
			round(ours.P50), round(base.P50), round(ours.P99), round(base.P99), round(ours.CPUPerRequest()), round(base.CPUPerRequest()),
			allocs(ours), allocs(base), goal(ours, base))
	}
	if floor := floorRows(results); floor != "" {
		w("\n### The floor\n\n")
		w("What the machine does at all under the same load: a bare `net/http` handler (in the baseline's process) that reads the body and answers the login's envelope, ")
		w("and the same handler doing a new user's one INSERT. Compare a route's CPU and allocations per request with these.\n\n")
		w("| store | route | req/s | p50 | p99 | CPU/request | allocs/request |\n|---|---|---:|---:|---:|---:|---:|\n")
		w("%s", floor)
	}
	if seed := pairs(results, "seed"); len(seed) > 0 {
		w("\n### Against the seed's own stack\n\n")
		w("The seed tutorial as written (`../shared/peer/django`: Django + DRF under gunicorn with 2 workers, its token cache in memcached, MariaDB), ")
		w("under the same load on the same MariaDB server. Its CPU is gunicorn's master and workers together; memcached's is not counted, as Redis's is not for wxbackend.\n\n")
		w("| store | route | wxbackend req/s | seed req/s | wxbackend / seed | p99 wxbackend / seed | CPU/request wxbackend / seed |\n")
		w("|---|---|---:|---:|---:|---:|---:|\n")
		for _, pair := range seed {
			ours, theirs := pair[0], pair[1]
			w("| %s | %s | %.0f | %.0f | %.1f× | %v / %v | %v / %v |\n", ours.Store, ours.Label(), ours.RPS(), theirs.RPS(), ours.RPS()/theirs.RPS(),
				round(ours.P99), round(theirs.P99), round(ours.CPUPerRequest()), round(theirs.CPUPerRequest()))
		}
	} else {
		w("\nThe seed's own stack did not run (`make bench` says why when `.ci/peer` cannot ready it).\n")
	}
	w("\n### Every run\n\n")
	w("| store | route | server | requests | req/s | p50 | p90 | p99 | max | errors | server CPU per 1,000 requests | allocs/request | peak RSS |\n")
	w("|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|\n")
	for _, r := range results {
		if isGateway(r) {
			continue // in the gateway's section
		}
		w("| %s | %s | %s | %d | %.0f (%.0f–%.0f) | %v | %v | %v | %v | %s | %.3f s | %s | %.1f MiB |\n", r.Store, r.Label(), r.Server, r.Requests, r.RPS(), r.MinRPS, r.MaxRPS,
			round(r.P50), round(r.P90), round(r.P99), round(r.Max), errorList(r.Errors), r.CPUPerRequest().Seconds()*1000, allocs(r), float64(r.PeakRSS)/(1<<20))
	}
	w("%s", scale(results, parseBench(micro)))
	if gw := GatewayReport(m, results); gw != "" {
		w("\n%s", gw)
	}
	if micro != "" {
		w("\n## Micro benchmarks\n\n`go test -run '^$' -bench . -benchmem` (make bench: `-benchtime` `BENCH_MICRO_TIME`) on the same machine. `BenchmarkLogin` and `BenchmarkGetInfo` are whole requests through the router, on the fake repo, MariaDB and PostgreSQL: their B/op and allocs/op are the server's own, in process:\n\n")
		w("%s\n", microBudget(micro))
		w("```\n%s```\n", micro)
	}
	return b.String()
}

// Headline is the README's summary of a run: the rows on MariaDB
// with memory sessions, against the baseline and the seed's stack.
func Headline(results []Result, started time.Time) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	base, seed := map[string]Result{}, map[string]Result{}
	for _, p := range pairs(results, "baseline") {
		base[p[0].Store+"|"+p[0].Label()] = p[1]
	}
	for _, p := range pairs(results, "seed") {
		seed[p[0].Label()] = p[1]
	}
	w("`make bench` on %s (%s; %d connections, the load generator, servers and databases sharing the machine), ",
		started.UTC().Format("2006-01-02 15:04 MST"), machineLine(), concurrencyOf(results))
	w("wxbackend against the no-architecture baseline, MariaDB with memory sessions (Redis sessions and PostgreSQL in [docs/benchmarks.md](docs/benchmarks.md)):")
	n := 0
	for _, r := range results {
		if r.Server != "wxbackend" || r.Store != "mysql + memory" {
			continue
		}
		if n == 0 {
			w("\n")
		}
		n++
		w("\n- %s: **%.0f req/s", r.Label(), r.RPS())
		if bl, ok := base[r.Store+"|"+r.Label()]; ok {
			w(", %.2f× the baseline", r.RPS()/bl.RPS())
		}
		w("**, %v of server CPU and %s allocations per request", round(r.CPUPerRequest()), allocs(r))
		if sd, ok := seed[r.Label()]; ok {
			w(", %.0f× the seed's stack", r.RPS()/sd.RPS())
		}
		w(";")
	}
	if n == 0 {
		return ""
	}
	return strings.TrimSuffix(b.String(), ";") + ".\n"
}

// concurrencyOf is the runs' C.
func concurrencyOf(results []Result) int {
	for _, r := range results {
		return r.Concurrency
	}
	return 0
}

// machineLine is the machine in a few words: its CPU and cores.
func machineLine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, _ := strings.Cut(line, ":"); strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d logical cores", cpu, runtime.NumCPU())
}

// SpliceHeadline replaces the text between the README's headline markers
// with headline.
func SpliceHeadline(readme, headline string) (string, error) {
	const open, end = "<!-- bench-headline: written by make bench from its run; do not edit by hand -->\n", "<!-- /bench-headline -->"
	i, j := strings.Index(readme, open), strings.Index(readme, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("the README has no bench-headline markers")
	}
	return readme[:i+len(open)] + headline + readme[j:], nil
}

// allocs renders a run's allocations per request ("–": not measured).
func allocs(r Result) string {
	if r.Mallocs == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", r.AllocsPerRequest())
}

// The goals of issue 28, per route (MariaDB with memory sessions for the
// CPU bounds).
const (
	maxCPUNewLogin = 160 * time.Microsecond
	maxCPUSame     = 60 * time.Microsecond
)

// goal checks ours against the goal for its route.
func goal(ours, base Result) string {
	ratio := ours.RPS() / base.RPS()
	var want float64
	var missed []string
	cpuBound := time.Duration(0)
	switch ours.Label() {
	case "/login/ new user":
		want, cpuBound = 1.0, maxCPUNewLogin
	case "/login/ returning":
		want = 2.0
	case "/getinfo/ same":
		want, cpuBound = 2.0, maxCPUSame
	case "/getinfo/ changing":
		want = 1.0
	default:
		return "–"
	}
	if ratio < want {
		missed = append(missed, fmt.Sprintf("< %.1f×", want))
	}
	if cpuBound > 0 && ours.Store == "mysql + memory" && ours.CPUPerRequest() > cpuBound {
		missed = append(missed, fmt.Sprintf("CPU > %v", cpuBound))
	}
	if len(ours.Errors)+len(base.Errors) > 0 {
		missed = append(missed, "errors")
	}
	if len(missed) > 0 {
		return "**missed**: " + strings.Join(missed, ", ")
	}
	return "met"
}

// floorRows renders the floor's runs as rows.
func floorRows(results []Result) string {
	var b strings.Builder
	for _, r := range results {
		if r.Server == "floor" {
			fmt.Fprintf(&b, "| %s | %s | %.0f | %v | %v | %v | %s |\n", r.Store, r.Label(), r.RPS(), round(r.P50), round(r.P99), round(r.CPUPerRequest()), allocs(r))
		}
	}
	return b.String()
}

// The scale estimate's assumptions about a large mini-program's day.
const (
	scaleUsers       = 10_000_000
	scaleDAUShare    = 0.30 // share of users who open the mini-program on a day
	scaleLaunches    = 2.0  // launches per active user per day, each a login and a profile upload (the seed's client)
	scalePeakHour    = 0.15 // share of a day's launches in its busiest hour
	scalePeakBurst   = 2.0  // the busiest second against that hour's average
	scaleChangeShare = 0.02 // launches whose profile differs from the stored one
	scaleNewShare    = 0.01 // launches by a user never seen before
	scaleUtilization = 0.6  // CPU a server is planned to use at peak
)

// scale turns the measured costs on MariaDB + Redis into a capacity
// estimate for a 10-million-user mini-program. It says nothing when the
// runs it needs are missing.
func scale(results []Result, micro map[string]benchResult) string {
	cost := map[string]Result{}
	for _, r := range results {
		if r.Server == "wxbackend" && strings.HasPrefix(r.Store, "mysql") {
			cost[r.Label()] = r
		}
	}
	same, okS := cost["/getinfo/ same"]
	changing, okC := cost["/getinfo/ changing"]
	login, okL := cost["/login/ returning"]
	if !okS || !okC || !okL {
		return ""
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	perCore := func(r Result) float64 { return 1 / r.CPUPerRequest().Seconds() }
	w("\n## Scale on paper\n\n")
	w("From the MariaDB + Redis runs above (wxbackend's own CPU per request, access log on):\n\n")
	w("| route | CPU per request | requests per second per core |\n|---|---:|---:|\n")
	for _, r := range []Result{same, changing, login} {
		w("| %s | %v | %.0f |\n", r.Label(), round(r.CPUPerRequest()), perCore(r))
	}
	dau := scaleUsers * scaleDAUShare
	launches := dau * scaleLaunches
	peak := launches * scalePeakHour / 3600 * scalePeakBurst
	launchCPU := login.CPUPerRequest().Seconds() + (1-scaleChangeShare)*same.CPUPerRequest().Seconds() + scaleChangeShare*changing.CPUPerRequest().Seconds()
	cores := peak * launchCPU / scaleUtilization
	w("\n**A %s-user mini-program.** Assumed: %.0f%% of users active a day (%s), %.0f launches each, every launch a `/login/` and a `/getinfo/` as the seed's client does; ",
		strings.ReplaceAll(millions(scaleUsers), " ", "-"), scaleDAUShare*100, millions(dau), scaleLaunches)
	w("%.0f%% of a day's launches in the busiest hour and its busiest second at %.0f× that hour's average; %.0f%% of uploads change the profile, %.0f%% of launches are new users. ",
		scalePeakHour*100, scalePeakBurst, scaleChangeShare*100, scaleNewShare*100)
	w("That is **%.0f launches per second** at peak (%.0f requests per second).\n\n", peak, 2*peak)
	servers := int(math.Ceil(cores/2)) + 1 // two-core servers, and one to lose
	w("- **Servers**: a launch costs %v of server CPU, so the peak needs %.2f cores at %.0f%% utilization: **%d servers of two cores**, one of them spare.\n",
		round(time.Duration(launchCPU*float64(time.Second))), cores, scaleUtilization*100, servers)
	if r, ok := micro["BenchmarkRedisBytesPerSession"]; ok {
		bytes := r.metrics["B/session"]
		live := launches // a token lives 24 h (WXB_SESSION_TTL) and every launch logs in
		w("- **Redis memory**: %.0f bytes of `used_memory` per session of a distinct user (token key, user hash, token set; `BenchmarkRedisBytesPerSession`), %.2f GiB per million sessions. ",
			bytes, bytes*1e6/(1<<30))
		w("With a 24 h token and a login per launch, up to %s tokens live at once: at most %.1f GiB (less, as a user's second token shares their hash and set). One Redis node holds that. ",
			millions(live), bytes*live/(1<<30))
		trips := 3 + scaleChangeShare // the login's create and cache read, the upload's session read (which brings the copy along), and a cache write when the profile changed
		w("The user cache's copy adds a few hundred bytes per user. ")
		w("Its load is %.2f round trips per launch (at login, the session's creation and the user cache's read; at upload, the session's read, which brings the cache's copy along, and a cache write when the profile changed), 2 more with the default rate limits: %.0f per second at peak, far below what one node serves.\n",
			trips, (trips+2)*peak)
	}
	writesWithout := peak*scaleNewShare + peak
	writesWith := peak*scaleNewShare + peak*scaleChangeShare
	reads := 0.0 // a new user's INSERT is not read back; the rest come from the user cache
	w("- **Database**: a returning user's login touches nothing (the user cache's copy answers it), a new user's is one INSERT (not read back); an unchanged upload touches nothing either, a changed one is one UPDATE (from the cache's copy of the user). ")
	w("Writes at peak: **%.0f per second without the no-op skip** (every upload an UPDATE, as the seed and the baseline do), **%.0f with it**; reads %.0f per second (%.0f without the user cache). ", writesWithout, writesWith, reads, peak+reads)
	w("On this machine, with the server, Redis and the load generator sharing its two cores, MariaDB sustained %.0f changing uploads per second (an UPDATE each)", changing.RPS())
	if changing.RPS() >= writesWithout {
		w(": one primary carries this peak even without the skip; replicas are for availability, not load.\n")
	} else {
		w(": below the peak's writes without the skip, so the skip (or a larger primary) is what carries it.\n")
	}
	return b.String()
}

// millions writes n as "10 million" or "3.5 million".
func millions(n float64) string {
	return strconv.FormatFloat(n/1e6, 'f', -1, 64) + " million"
}

// pairs matches each wxbackend run with the other server's run of the same
// store and scenario.
func pairs(results []Result, other string) [][2]Result {
	type key struct{ store, label string }
	theirs := map[key]Result{}
	for _, r := range results {
		if r.Server == other {
			theirs[key{r.Store, r.Label()}] = r
		}
	}
	var out [][2]Result
	for _, r := range results {
		if t, ok := theirs[key{r.Store, r.Label()}]; ok && r.Server == "wxbackend" {
			out = append(out, [2]Result{r, t})
		}
	}
	return out
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d > 100*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}

func errorList(errs map[string]int) string {
	if len(errs) == 0 {
		return "0"
	}
	var out []string
	for k, n := range errs {
		out = append(out, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

var benchLine = regexp.MustCompile(`^(Benchmark[^\s-]+(?:/[^\s-]+)?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(.*)$`)

type benchResult struct {
	ns      float64
	allocs  float64
	metrics map[string]float64
}

func parseBench(out string) map[string]benchResult {
	res := map[string]benchResult{}
	for _, line := range strings.Split(out, "\n") {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		r := benchResult{metrics: map[string]float64{}}
		r.ns, _ = strconv.ParseFloat(m[2], 64)
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				r.metrics[f[i+1]] = v
			}
		}
		r.allocs = r.metrics["allocs/op"]
		res[m[1]] = r
	}
	return res
}

// microBudget checks the micro benchmarks against their budgets.
func microBudget(out string) string {
	res := parseBench(out)
	var b strings.Builder
	b.WriteString("| budget | measured | |\n|---|---|---|\n")
	open, okO := res["BenchmarkOpenUserInfo"]
	raw, okR := res["BenchmarkRawCBCAndJSON"]
	if okO && okR {
		ratio := open.ns / raw.ns
		fmt.Fprintf(&b, "| decrypt + verify + parse of a ~500-byte payload within %.0f× of raw `crypto/aes` CBC + `encoding/json` | %.0f ns vs %.0f ns: %.2f× | %s |\n",
			maxOpenVsRaw, open.ns, raw.ns, ratio, verdict(ratio <= maxOpenVsRaw))
		mbps := open.metrics["MB/s"] // SetBytes is the payload size: bytes = MB/s × ns / 1000
		kb := mbps * open.ns / 1e3 / 1024
		// The result: the decrypted UserInfo, whose strings share one
		// allocation (domain.ParseUserInfo's fast path).
		const resultAllocs = 1
		per := (open.allocs - resultAllocs) / kb
		fmt.Fprintf(&b, "| ≤ %.0f allocations per KB beyond the result | %.0f allocs for %.2f KB, %d of them the result: %.1f per KB | %s |\n",
			maxAllocsPerKB, open.allocs, kb, resultAllocs, per, verdict(per <= maxAllocsPerKB))
	}
	if h, ok := res["BenchmarkHeapPerSession"]; ok {
		v := h.metrics["B/session"]
		fmt.Fprintf(&b, "| memory store ≤ %.0f bytes of heap per live session (1,000,000 sessions) | %.0f B | %s |\n", maxHeapPerSession, v, verdict(v <= maxHeapPerSession))
	}
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// machine describes where the numbers come from.
func machine() string {
	var b strings.Builder
	cpu, cores := "unknown", 0
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch strings.TrimSpace(k) {
			case "model name":
				cpu = strings.TrimSpace(v)
			case "processor":
				cores++
			}
		}
		f.Close()
	}
	mem := "unknown"
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
		f.Close()
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	fmt.Fprintf(&b, "- CPU: %s, %d logical cores (GOMAXPROCS %d)\n", cpu, cores, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "- memory: %s; kernel: %s\n", mem, strings.TrimSpace(string(kernel)))
	fmt.Fprintf(&b, "- Go: %s\n", runtime.Version())
	for _, v := range []struct{ name, cmd string }{
		{"MariaDB/MySQL", "mariadb --version"}, {"PostgreSQL", "psql --version"}, {"Redis", "redis-server --version"},
	} {
		f := strings.Fields(v.cmd)
		if out, err := exec.Command(f[0], f[1:]...).Output(); err == nil {
			fmt.Fprintf(&b, "- %s: %s\n", v.name, strings.TrimSpace(string(out)))
		}
	}
	return b.String()
}
