// Package loadgen measures wxbackend under load; cmd/loadgen runs it:
//
//	loadgen run [flags]     drive one scenario against a running backend and
//	                        its WeChat sandbox (e.g. make run), print the numbers
//	loadgen matrix [flags]  what make bench runs: wxbackend and the baseline
//	                        server on sqlite+memory, mysql+redis and
//	                        postgres+redis, every scenario, then the gateway
//	                        part (an upstream directly, through the built-in
//	                        gateway, through nginx + auth_request), a
//	                        Markdown report
//	loadgen soak [flags]    what make soak runs: a mixed workload with hostile
//	                        requests on MariaDB + Redis for a long time,
//	                        reporting errors, p99, RSS and goroutines over time
//	loadgen hostile [flags] what make hostile runs: 200 hostile clients (slow
//	                        unauthenticated uploads, image bombs) and one
//	                        honest uploader; the server's RSS and the honest
//	                        latency against issue 23's goals
//
// A scenario logs K users in through the sandbox, then drives /getinfo/ (the
// same profile re-sent, or a different one on every request) or /login/ (a
// fresh wx.login code each time) from C connections for D. Every answer
// counted as a success is checked: code 0 and the profile just sent (or a
// token). With the server's pid, it also reads the server's CPU time and
// peak RSS from /proc.
package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/internal/sim/sandbox"
)

// Main runs the command args names (run, matrix, soak or hostile) with its flags,
// until it is done or the process is interrupted.
func Main(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: loadgen run|matrix|soak|hostile [flags] (-help for each)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch args[0] {
	case "run":
		return runOne(ctx, args[1:])
	case "matrix":
		return runMatrix(ctx, args[1:])
	case "soak":
		return runSoak(ctx, args[1:])
	case "hostile":
		return runHostile(ctx, args[1:])
	}
	return fmt.Errorf("unknown command %q: run, matrix, soak or hostile", args[0])
}

func runOne(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen run", flag.ContinueOnError)
	var s Scenario
	fs.StringVar(&s.Backend, "backend", "http://127.0.0.1:8080", "the backend's base URL")
	sbURL := fs.String("sandbox", "http://127.0.0.1:8090", "the WeChat sandbox the backend logs in against")
	fs.StringVar(&s.Route, "route", "getinfo", "getinfo, login (a returning user), login-new (a new user each time) or session (a new user's first session: login, getinfo, GET /api/v1/me)")
	fs.BoolVar(&s.Changing, "changing", false, "getinfo: send a different profile on every request")
	fs.IntVar(&s.Users, "users", 200, "K: users logged in before the run")
	fs.IntVar(&s.Concurrency, "c", 32, "C: concurrent connections")
	fs.DurationVar(&s.Duration, "d", 10*time.Second, "D: measured duration")
	fs.DurationVar(&s.Warmup, "warmup", 2*time.Second, "unmeasured load before the run")
	fs.IntVar(&s.PID, "pid", 0, "the server's process id, to read its CPU and peak RSS from /proc (same machine)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch s.Route {
	case "getinfo", "login", "login-new", "session":
	default:
		return fmt.Errorf("-route %q: getinfo, login, login-new or session", s.Route)
	}
	s.UserPrefix = fmt.Sprintf("load-%d", time.Now().Unix())
	r, err := Run(ctx, s, httpPhone{sandbox.NewPhone(*sbURL, nil)})
	if err != nil {
		if rateLimited(err) {
			return fmt.Errorf("%w\n%s", err, rateLimitHint)
		}
		return err
	}
	fmt.Printf("%s: %s\n", s.Label(), r)
	if r.Errors["code 7"] > 0 {
		fmt.Fprintln(os.Stderr, rateLimitHint)
	}
	return nil
}

// rateLimitHint says what to do when the server's rate limits refuse the
// load: one client drives it all, from one address, so the per-client and
// per-session limits (made for real users) refuse most of it.
const rateLimitHint = `loadgen: the server refused requests as rate limited (code 7, HTTP 429). Its limits are per client
address and per session, and loadgen is one client: start the server with them off, e.g.
  WXB_RATE_LOGIN_PER_MINUTE=0 WXB_RATE_SESSION_PER_MINUTE=0 WXB_RATE_WECHAT_LOGINS_PER_SECOND=0 make run
(make bench sets these itself).`

// rateLimited reports an error that is the server's code 7 (rate limited).
func rateLimited(err error) bool {
	var e *apiclient.Error
	return errors.As(err, &e) && (e.Code == 7 || e.HTTPStatus == http.StatusTooManyRequests) // the contract's code 7
}

func runMatrix(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen matrix", flag.ContinueOnError)
	var m MatrixConfig
	fs.StringVar(&m.Server, "server", "bin/wxbackend", "wxbackend binary")
	fs.StringVar(&m.Baseline, "baseline", "bin/baseline", "baseline server binary")
	fs.StringVar(&m.Seed, "seed", "", "the seed tutorial's stack, its django/ folder (see ../shared/peer), run on the mysql store; empty: not run")
	stores := fs.String("stores", "mysql+memory,mysql+redis,postgres+memory,postgres+redis", "stores to run: a database and a session store (sqlite+memory, mysql+memory, mysql+redis, postgres+memory, postgres+redis; a database alone is its usual pairing)")
	fs.IntVar(&m.Users, "users", 200, "K: users per scenario")
	fs.IntVar(&m.C, "c", 32, "C: concurrent connections")
	fs.DurationVar(&m.D, "d", 10*time.Second, "D: measured duration of each run")
	fs.IntVar(&m.Rounds, "rounds", 3, "runs of each scenario per server, alternating which goes first; the median is reported")
	fs.DurationVar(&m.Warmup, "warmup", 2*time.Second, "unmeasured load before each run")
	fs.StringVar(&m.MySQL, "mysql", env("WXB_TEST_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/"), "MySQL DSN without a database")
	fs.StringVar(&m.Postgres, "postgres", env("WXB_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL URL of a database to create the benchmark's from")
	fs.StringVar(&m.Redis, "redis", env("WXB_TEST_REDIS_ADDR", "127.0.0.1:6379"), "Redis address")
	fs.StringVar(&m.LogLevel, "log-level", "info", "wxbackend's log level (info: an access-log line per request, as deployed)")
	gwSessions := fs.String("gateway-sessions", "memory,redis", "session stores of the gateway part (memory, redis); empty: the part does not run")
	fs.StringVar(&m.Echo, "echo", "bin/wxecho", "the gateway part's upstream: the echo service's binary (cmd/wxecho)")
	fs.StringVar(&m.Nginx, "nginx", "/usr/sbin/nginx", "nginx binary, for the gateway part")
	fs.StringVar(&m.NginxConf, "nginx-conf", "docs/proxies/nginx.conf", "the README's nginx configuration, run with the benchmark's ports")
	fs.IntVar(&m.NginxWorkers, "nginx-workers", runtime.NumCPU(), "nginx's worker_processes (default: the machine's cores, as wxbackend's GOMAXPROCS)")
	out := fs.String("out", "docs/benchmarks.md", "Markdown report to write; with -stores '' only the gateway part runs, and replaces its section of this file")
	micro := fs.String("micro", "", "go test -bench output to include in the report")
	readme := fs.String("readme", "", "README whose headline (between its bench-headline markers) is rewritten from the run; empty: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m.Stores, m.GatewaySessions = list(*stores), list(*gwSessions)
	if len(m.Stores)+len(m.GatewaySessions) == 0 {
		return fmt.Errorf("nothing to run: -stores and -gateway-sessions are both empty")
	}
	if m.Seed != "" {
		abs, err := filepath.Abs(m.Seed)
		if err != nil {
			return err
		}
		m.Seed = abs
	}
	if m.Rounds < 1 {
		return fmt.Errorf("-rounds %d: at least 1", m.Rounds)
	}
	dir, err := os.MkdirTemp("", "wxbench")
	if err != nil {
		return err
	}
	m.Dir = dir
	started := time.Now()
	results, err := Matrix(ctx, m, func(line string) { fmt.Println(line) })
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, dir)
	}
	var microOut string
	if *micro != "" {
		b, err := os.ReadFile(*micro)
		if err != nil {
			return err
		}
		microOut = string(b)
	}
	report := Report(m, results, microOut, started)
	if len(m.Stores) == 0 {
		// The gateway part alone (make bench-gateway): its section of the
		// last full report is replaced, the rest kept.
		old, err := os.ReadFile(*out)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		report = spliceSection(string(old), gatewayHeading, GatewayReport(m, results))
	}
	if len(m.GatewaySessions) == 0 && len(m.Stores) > 0 {
		// The gateway part did not run (make bench-gateway runs it): the last
		// report's gateway section is kept.
		if old, err := os.ReadFile(*out); err == nil {
			if sec := section(string(old), gatewayHeading); sec != "" {
				report = spliceSection(report, gatewayHeading, sec)
			}
		}
	}
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		return err
	}
	if *readme != "" && len(m.Stores) > 0 {
		if h := Headline(results, started); h != "" {
			old, err := os.ReadFile(*readme)
			if err != nil {
				return err
			}
			doc, err := SpliceHeadline(string(old), h)
			if err != nil {
				return err
			}
			if err := os.WriteFile(*readme, []byte(doc), 0o644); err != nil {
				return err
			}
			fmt.Println("rewrote the headline of", *readme)
		}
	}
	_ = os.RemoveAll(dir)
	fmt.Println("wrote", *out)
	return nil
}

// list splits a comma-separated flag, "" being the empty list.
func list(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
