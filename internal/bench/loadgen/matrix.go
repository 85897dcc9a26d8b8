package loadgen

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"
	goredis "github.com/redis/go-redis/v9"

	"wxbackend/internal/sim/sandbox"
)

// store is one user database + session store pairing of the matrix.
type store struct {
	name        string // "sqlite+memory", …
	driver      string
	sessions    string // "memory" or "redis"
	dsn         string // for wxbackend
	baselineDSN string // the same database, with what wxbackend adds itself
}

// MatrixConfig configures `loadgen matrix`.
type MatrixConfig struct {
	Server, Baseline string // binaries
	Seed             string // the seed tutorial's stack (its django/ folder), run on MySQL; empty: not run
	Stores           []string
	Users, C         int
	D, Warmup        time.Duration
	MySQL, Postgres  string // admin DSNs: MySQL without a database, a PostgreSQL database to CREATE DATABASE from
	Redis            string
	LogLevel         string
	Rounds           int    // runs of each scenario per server; the median is reported
	Dir              string // scratch directory
	// The gateway part (gateway.go): run for each of GatewaySessions
	// ("memory", "redis"; none: not run), with the echo service's binary,
	// nginx's and its site configuration (docs/proxies/nginx.conf).
	GatewaySessions []string
	Echo, Nginx     string
	NginxConf       string
	NginxWorkers    int
}

const (
	benchDB = "wxb_bench"
	seedDB  = "wxb_bench_seed"
)

// storeNames are the matrix's stores: a user database and a session
// store. The database alone names its usual pairing (sqlite: memory,
// mysql and postgres: redis).
var storeNames = map[string]string{"sqlite": "sqlite+memory", "mysql": "mysql+redis", "postgres": "postgres+redis"}

func (m MatrixConfig) store(name string) (store, error) {
	if full, ok := storeNames[name]; ok {
		name = full
	}
	driver, sessions, _ := strings.Cut(name, "+")
	if sessions != "memory" && sessions != "redis" || driver == "sqlite" && sessions != "memory" {
		return store{}, fmt.Errorf("unknown store %q (sqlite+memory, mysql+memory, mysql+redis, postgres+memory, postgres+redis)", name)
	}
	label := driver + " + " + sessions
	switch driver {
	case "sqlite":
		path := filepath.Join(m.Dir, "bench.db")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(path + suffix)
		}
		return store{name: label, driver: "sqlite", sessions: "memory", dsn: "file:" + path,
			baselineDSN: "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate"}, nil
	case "mysql":
		db, err := sql.Open("mysql", m.MySQL)
		if err != nil {
			return store{}, err
		}
		defer db.Close()
		for _, q := range []string{"DROP DATABASE IF EXISTS " + benchDB,
			"CREATE DATABASE " + benchDB + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"} {
			if _, err := db.Exec(q); err != nil {
				return store{}, fmt.Errorf("mysql: %w", err)
			}
		}
		dsn := strings.TrimSuffix(m.MySQL, "/") + "/" + benchDB
		return store{name: label, driver: "mysql", sessions: sessions, dsn: dsn,
			baselineDSN: dsn + "?charset=utf8mb4&parseTime=true"}, nil
	case "postgres":
		db, err := sql.Open("postgres", m.Postgres)
		if err != nil {
			return store{}, err
		}
		defer db.Close()
		for _, q := range []string{"DROP DATABASE IF EXISTS " + benchDB + " WITH (FORCE)",
			"CREATE DATABASE " + benchDB + " ENCODING 'UTF8' TEMPLATE template0"} {
			if _, err := db.Exec(q); err != nil {
				return store{}, fmt.Errorf("postgres: %w", err)
			}
		}
		dsn := strings.Replace(m.Postgres, "/postgres?", "/"+benchDB+"?", 1)
		return store{name: label, driver: "postgres", sessions: sessions, dsn: dsn, baselineDSN: dsn}, nil
	}
	return store{}, fmt.Errorf("unknown store %q (sqlite+memory, mysql+memory, mysql+redis, postgres+memory, postgres+redis)", name)
}

// process is a server under test.
type process struct {
	name     string
	cmd      *exec.Cmd
	base     string
	log      *os.File
	tokenLen int                    // the length of the tokens it hands out; 0: of wxbackend's shape
	mallocs  func() (uint64, error) // its heap allocations so far; nil: not known
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func start(name string, cmd *exec.Cmd, env []string, logPath string, ready func(base string) bool, addr string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{name: name, cmd: cmd, base: "http://" + addr, log: logf}
	deadline := time.Now().Add(60 * time.Second)
	for !ready(p.base) {
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			p.stop()
			return nil, fmt.Errorf("%s did not come up; see %s", name, logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p, nil
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.log.Close()
}

// Matrix runs every scenario on every store against wxbackend and the
// baseline, and returns the results in order.
func Matrix(ctx context.Context, m MatrixConfig, progress func(string)) ([]Result, error) {
	sb := sandbox.New(sandbox.Options{})
	ln, err := sandbox.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stopSandbox := context.WithCancel(ctx)
	defer stopSandbox()
	go func() { _ = sb.Serve(sctx, ln) }()
	sbURL := "http://" + ln.Addr().String()
	wx := inProcess{sb}

	var results []Result
	seedRan, floorRan := false, map[string]bool{}
	for _, name := range m.Stores {
		st, err := m.store(name)
		if err != nil {
			return results, err
		}
		if st.sessions == "redis" {
			if err := clearRedis(ctx, m.Redis); err != nil {
				return results, err
			}
		}
		ours, theirs, err := m.startPair(st, sbURL)
		if err != nil {
			return results, err
		}
		servers := []*process{ours, theirs}
		var seed *process
		if m.Seed != "" && st.driver == "mysql" && !seedRan { // once: its cache is memcached whatever the store
			seedRan = true
			if seed, err = m.startSeed(ctx, sbURL); err != nil {
				ours.stop()
				theirs.stop()
				return results, err
			}
			servers = append(servers, seed)
		}
		stopAll := func() {
			for _, p := range servers {
				p.stop()
			}
		}
		scenarios := []Scenario{
			{Route: "login-new"},
			{Route: "login"},
			{Route: "getinfo", Changing: false},
			{Route: "getinfo", Changing: true},
			{Route: "session"},
		}
		// The floor, on the baseline only: the envelope once, the INSERT
		// once per database.
		if !floorRan["floor"] {
			scenarios = append(scenarios, Scenario{Route: "floor"})
			floorRan["floor"] = true
		}
		if !floorRan[st.driver] {
			scenarios = append(scenarios, Scenario{Route: "floor-insert"})
			floorRan[st.driver] = true
		}
		for i, sc := range scenarios {
			on := servers
			switch {
			case strings.HasPrefix(sc.Route, "floor"):
				on = []*process{theirs}
			case sc.Route == "session" && seed != nil:
				on = []*process{ours, theirs} // the seed has no GET /api/v1/me
			}
			// Several short rounds, alternating who goes first, and the
			// median round reported: one slow fsync or a neighbour's burst
			// should not decide a comparison.
			rounds := map[string][]Result{}
			for round := 0; round < m.Rounds; round++ {
				for k := range on {
					p := on[(i+round+k)%len(on)]
					sc := sc
					sc.Backend, sc.Users, sc.Concurrency, sc.Duration, sc.Warmup = p.base, m.Users, m.C, m.D, m.Warmup
					sc.PID, sc.TokenLen, sc.Mallocs = p.cmd.Process.Pid, p.tokenLen, p.mallocs
					sc.UserPrefix = fmt.Sprintf("%s-%s-%s-%d-%d", p.name, strings.ReplaceAll(name, "+", "-"), sc.Route, i, round)
					r, err := Run(ctx, sc, wx)
					if err != nil {
						stopAll()
						return results, fmt.Errorf("%s on %s: %w", p.name, st.name, err)
					}
					r.Store, r.Server = st.name, p.name
					if strings.HasPrefix(sc.Route, "floor") {
						r.Server = "floor"
					}
					progress(fmt.Sprintf("%-17s %-9s %-24s round %d: %s", st.name, r.Server, r.Label(), round+1, r))
					rounds[p.name] = append(rounds[p.name], r)
				}
			}
			for _, p := range on {
				results = append(results, median(rounds[p.name]))
			}
		}
		stopAll()
	}
	gw, err := Gateway(ctx, m, sbURL, wx, progress)
	return append(results, gw...), err
}

func (m MatrixConfig) startPair(st store, sbURL string) (*process, *process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	env := m.wxbackendEnv(st, addr, sbURL)
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	env = append(env, "WXB_METRICS_ADDR="+metricsAddr)
	ours, err := start("wxbackend", exec.Command(m.Server), env, filepath.Join(m.Dir, "wxbackend-"+st.driver+"-"+st.sessions+".log"), answersReadyz, addr)
	if err != nil {
		return nil, nil, err
	}
	ours.mallocs = func() (uint64, error) {
		return metricValue("http://"+metricsAddr+"/metrics", "go_memstats_mallocs_total")
	}
	if addr, err = freeAddr(); err != nil {
		ours.stop()
		return nil, nil, err
	}
	benv := []string{
		"BASELINE_ADDR=" + addr, "BASELINE_WECHAT_URL=" + sbURL,
		"BASELINE_APP_ID=" + sandbox.DefaultAppID, "BASELINE_APP_SECRET=" + sandbox.DefaultAppSecret,
		"BASELINE_DB_DRIVER=" + st.driver, "BASELINE_DB_DSN=" + st.baselineDSN,
	}
	if st.sessions == "redis" {
		benv = append(benv, "BASELINE_REDIS_ADDR="+m.Redis)
	}
	theirs, err := start("baseline", exec.Command(m.Baseline), benv, filepath.Join(m.Dir, "baseline-"+st.driver+"-"+st.sessions+".log"), answersLogin, addr)
	if err != nil {
		ours.stop()
		return nil, nil, err
	}
	theirs.mallocs = func() (uint64, error) { return plainNumber(theirs.base + "/debug/mallocs") }
	theirs.tokenLen = 43 // 32 random bytes, base64url: no user tag, which wxbackend's tokens carry
	return ours, theirs, nil
}

// metricValue reads one unlabelled metric from a Prometheus text page.
func metricValue(url, name string) (uint64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return uint64(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %s", url, name)
}

// plainNumber reads a page that is one number.
func plainNumber(url string) (uint64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// answersLogin reports whether a server at base answers POST /login/.
func answersLogin(base string) bool {
	resp, err := http.Post(base+"/login/", "application/json", strings.NewReader("{}"))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// startSeed starts the seed tutorial's own stack as its rebuild's README
// says: a fresh utf8mb4 database on the MySQL server, Django's migrations,
// then gunicorn with two workers sharing tokens through memcached (which
// .ci/peer started).
func (m MatrixConfig) startSeed(ctx context.Context, sbURL string) (*process, error) {
	db, err := sql.Open("mysql", m.MySQL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + seedDB,
		"CREATE DATABASE " + seedDB + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("seed database: %w", err)
		}
	}
	env := []string{"PEER_DB=mysql", "PEER_DB_NAME=" + seedDB, "PEER_CACHE=memcached", "WX_API_BASE=" + sbURL,
		"WX_APPID=" + sandbox.DefaultAppID, "WX_SECRET=" + sandbox.DefaultAppSecret}
	migrate := exec.CommandContext(ctx, "/usr/bin/python3", "manage.py", "migrate", "-v0")
	migrate.Dir, migrate.Env = m.Seed, append(os.Environ(), env...)
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("seed migrate: %w: %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/usr/bin/python3", "/usr/bin/gunicorn", "-w", "2", "-b", addr, "peer.wsgi:application")
	cmd.Dir = m.Seed
	p, err := start("seed", cmd, env, filepath.Join(m.Dir, "seed.log"), answersLogin, addr)
	if err != nil {
		return nil, err
	}
	p.tokenLen = 32 // md5, hex
	return p, nil
}

// clearRedis deletes the keys matching patterns (by default, what earlier
// runs left under the benchmark's prefixes).
func clearRedis(ctx context.Context, addr string, patterns ...string) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	if len(patterns) == 0 {
		patterns = []string{"wxbench:*", "baseline:*"}
	}
	for _, pattern := range patterns {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				if err := c.Unlink(ctx, keys...).Err(); err != nil {
					return err
				}
				keys = keys[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("redis at %s: %w", addr, err)
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// startSandbox serves the WeChat sandbox's default app in this process (not
// in the server measured) on a loopback port, until stop.
func startSandbox(ctx context.Context) (url string, stop func(), err error) {
	ln, err := sandbox.Listen("127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sandbox.New(sandbox.Options{}).Serve(ctx, ln)
	}()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }, nil
}

// inProcess adapts the in-process sandbox to phone.
type inProcess struct{ *sandbox.Sandbox }

var _ phone = inProcess{}

// median returns the run of median throughput, with the spread of all runs'
// throughput and their errors summed.
func median(runs []Result) Result {
	sorted := append([]Result(nil), runs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].RPS() < sorted[j].RPS() })
	m := sorted[len(sorted)/2]
	m.Rounds, m.MinRPS, m.MaxRPS = len(runs), sorted[0].RPS(), sorted[len(sorted)-1].RPS()
	errs := map[string]int{}
	for _, r := range runs {
		for k, n := range r.Errors {
			errs[k] += n
		}
	}
	m.Errors = errs
	return m
}
