package loadgen

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestRenderNginx_RunsTheREADMEConfigurationOnTheBenchmarksPorts renders
// docs/proxies/nginx.conf itself: every address of the README replaced by
// the run's, the rest as written, and a main file that keeps nginx's files
// in the run's directory.
func TestRenderNginx_RunsTheREADMEConfigurationOnTheBenchmarksPorts(t *testing.T) {
	site, err := os.ReadFile("../../../docs/proxies/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	mainConf, siteConf, err := renderNginx(string(site), "127.0.0.1:4001", "127.0.0.1:4002", "127.0.0.1:4003", "/tmp/x", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{docWXBackend, docUpstream, docListen} {
		if strings.Contains(siteConf, gone) {
			t.Errorf("the site still holds the README's %q", gone)
		}
	}
	for _, want := range []string{"server 127.0.0.1:4001;", "proxy_pass http://127.0.0.1:4002;", "listen 127.0.0.1:4003;", "auth_request /_wxbackend_auth;"} {
		if !strings.Contains(siteConf, want) {
			t.Errorf("the site lacks %q", want)
		}
	}
	back := strings.NewReplacer("127.0.0.1:4001", docWXBackend, "127.0.0.1:4002", docUpstream, "listen 127.0.0.1:4003;", docListen).Replace(siteConf)
	if back != string(site) {
		t.Error("the site differs from the README's by more than its addresses")
	}
	for _, want := range []string{"daemon off;", "master_process on;", "worker_processes 2;", "pid /tmp/x/nginx.pid;", "include /tmp/x/site.conf;", "access_log off;"} {
		if !strings.Contains(mainConf, want) {
			t.Errorf("the main file lacks %q:\n%s", want, mainConf)
		}
	}

	if _, _, err := renderNginx(strings.ReplaceAll(string(site), docUpstream, "127.0.0.1:9999"), "a", "b", "c", "/tmp/x", 2); err == nil ||
		!strings.Contains(err.Error(), docUpstream) {
		t.Errorf("a configuration without the README's upstream address: err = %v, want one naming it", err)
	}
}

// TestEchoIsRight checks an answer by the echo service's own bytes:
// identity headers when a token went along, none without, its path.
func TestEchoIsRight(t *testing.T) {
	with := []byte("{\n  \"service\": \"wxecho\",\n  \"method\": \"GET\",\n  \"path\": \"/app/orders\",\n  \"identity\": {\n    \"X-Wx-Openid\": \"oABC\"\n  }\n}\n")
	without := []byte("{\n  \"service\": \"wxecho\",\n  \"method\": \"GET\",\n  \"path\": \"/app/orders\",\n  \"identity\": {}\n}\n")
	other := []byte("{\n  \"service\": \"wxecho\",\n  \"path\": \"/orders\",\n  \"identity\": {}\n}\n")
	for _, c := range []struct {
		name     string
		body     []byte
		identity bool
		want     bool
	}{
		{"identity, wanted", with, true, true},
		{"identity, not wanted", with, false, false},
		{"none, wanted", without, true, false},
		{"none, not wanted", without, false, true},
		{"another path", other, false, false},
		{"not the echo", []byte(`{"code":2}`), false, false},
	} {
		if got := echoIsRight(c.body, c.identity); got != c.want {
			t.Errorf("%s: echoIsRight = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestGatewayReport_ComparesEachPathWithTheDirectOne checks the section's
// arithmetic on made-up runs: CPU per request per process and on the path,
// the differences to the direct path, and the goal's verdict.
func TestGatewayReport_ComparesEachPathWithTheDirectOne(t *testing.T) {
	up, wxb, ngx, bare := Proc{"upstream", 1}, Proc{"wxbackend", 2}, Proc{"nginx", 3}, Proc{"bare proxy", 4}
	run := func(store, server string, rps int, p99 time.Duration, procs []Proc, cpu ...time.Duration) Result {
		return Result{Scenario: Scenario{Route: "gateway", Procs: procs}, Store: store, Server: server,
			Requests: rps, OK: rps, Elapsed: time.Second, P99: p99, ProcCPU: cpu}
	}
	const ms = time.Millisecond
	results := []Result{
		{Scenario: Scenario{Route: "login"}, Server: "wxbackend", Store: "sqlite + memory", Requests: 1, OK: 1, Elapsed: time.Second},
		// 1000 requests: 1 ms of CPU is 1 µs per request.
		run("memory sessions", pathDirect, 1000, 2*ms, []Proc{up}, 40*ms),
		run("memory sessions", pathBare, 900, 2*ms, []Proc{up, bare}, 36*ms, 36*ms),
		run("memory sessions", pathGateway, 800, 3*ms, []Proc{up, wxb}, 32*ms, 48*ms),
		run("memory sessions", pathNginx, 400, 5*ms, []Proc{up, wxb, ngx}, 16*ms, 20*ms, 24*ms),
		run("redis sessions", pathDirect, 1000, 2*ms, []Proc{up}, 40*ms),
		run("redis sessions", pathGateway, 500, 4*ms, []Proc{up, wxb}, 20*ms, 60*ms),
		run("redis sessions", pathNginx, 600, 5*ms, []Proc{up, wxb, ngx}, 24*ms, 30*ms, 36*ms),
	}
	results[3].ProcSys = []time.Duration{16 * ms, 12 * ms} // the kernel's share: half the upstream's, a quarter of wxbackend's
	got := GatewayReport(MatrixConfig{Users: 10, C: 4, D: time.Second, Rounds: 3, NginxWorkers: 2, LogLevel: "info"}, results)
	for _, want := range []string{
		gatewayHeading + "\n",
		"`worker_processes 2`",
		// memory: direct 40 µs, gateway 40+60 = 100 µs (+60 µs: the goal's edge), 2× nginx's req/s.
		// The bare proxy hop: (36+36)/0.9 = 80 µs, 40 µs over direct.
		"| memory sessions | ≤ 60µs CPU over direct, more req/s than nginx | 60µs | 40µs | 2.00× | met |",
		"| memory sessions | direct | 1000 (0–0) | 0s | 2ms | 40µs | – | – | – | 40µs | – | – | – | 0 |",
		"| memory sessions | bare proxy | 900 (0–0) | 0s | 2ms | 40µs | 40µs | – | – | 80µs | -10% | +0s | +40µs | 0 |",
		"| memory sessions | gateway | 800 (0–0) | 0s | 3ms | 40µs (50% sys) | – | 60µs (25% sys) | – | 100µs | -20% | +1ms | +60µs | 0 |",
		"| memory sessions | nginx | 400 (0–0) | 0s | 5ms | 40µs | – | 50µs | 60µs | 150µs | -60% | +3ms | +110µs | 0 |",
		// redis: gateway 40+120 = 160 µs, fewer req/s than nginx; no bare run.
		"| redis sessions | ≤ 60µs CPU over direct, more req/s than nginx | 120µs | – | 0.83× | **missed**: CPU > 60µs over direct, not more req/s than nginx |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the section lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "/login/") {
		t.Errorf("the section shows a run of another part:\n%s", got)
	}
	if GatewayReport(MatrixConfig{}, results[:1]) != "" {
		t.Error("a section without gateway runs")
	}
}

// TestSpliceSection replaces the gateway's section of an earlier report,
// the sections around it kept, or adds it at the end.
func TestSpliceSection(t *testing.T) {
	const section = "## Gateway\n\nnew\n"
	for _, c := range []struct{ name, doc, want string }{
		{"between", "# B\n\n## Scale\n\nx\n\n## Gateway\n\nold\nold\n\n## Micro\n\ny\n", "# B\n\n## Scale\n\nx\n\n## Gateway\n\nnew\n\n## Micro\n\ny\n"},
		{"last", "# B\n\n## Gateway\n\nold\n", "# B\n\n## Gateway\n\nnew\n"},
		{"none yet", "# B\n\n## Micro\n\ny\n", "# B\n\n## Micro\n\ny\n\n## Gateway\n\nnew\n"},
		{"no report", "", "## Gateway\n\nnew\n"},
		{"a deeper heading stays inside", "# B\n\n## Gateway\n\nold\n### Sub\n\nold\n\n## Micro\n", "# B\n\n## Gateway\n\nnew\n\n## Micro\n"},
	} {
		if got := spliceSection(c.doc, gatewayHeading, section); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestReport_PutsTheGatewayRunsInTheirOwnSection: make bench's report
// shows the gateway part's runs in its section only, after the others.
func TestReport_PutsTheGatewayRunsInTheirOwnSection(t *testing.T) {
	results := []Result{
		{Scenario: Scenario{Route: "login"}, Server: "wxbackend", Store: "sqlite + memory", Requests: 10, OK: 10, Elapsed: time.Second},
		{Scenario: Scenario{Route: "login"}, Server: "baseline", Store: "sqlite + memory", Requests: 10, OK: 10, Elapsed: time.Second},
		{Scenario: Scenario{Route: "gateway", Procs: []Proc{{"upstream", 1}}}, Server: pathDirect, Store: "memory sessions",
			Requests: 10, OK: 10, Elapsed: time.Second, ProcCPU: []time.Duration{time.Millisecond}},
	}
	got := Report(MatrixConfig{Rounds: 1, NginxWorkers: 2}, results, "", time.Now())
	every := got[strings.Index(got, "### Every run"):]
	gw := strings.Index(got, "\n"+gatewayHeading+"\n")
	if gw < 0 || gw < strings.Index(got, "### Every run") {
		t.Fatalf("no gateway section after the load runs:\n%s", got)
	}
	if rows := every[:strings.Index(every, "\n"+gatewayHeading)]; strings.Contains(rows, "memory sessions") {
		t.Errorf("the gateway's run is in the table of every run:\n%s", rows)
	}
	if !strings.Contains(got[gw:], "| memory sessions | direct | 10 (0–0) |") {
		t.Errorf("the gateway section lacks its run:\n%s", got[gw:])
	}
}
