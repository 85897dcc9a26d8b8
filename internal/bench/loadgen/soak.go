package loadgen

import (
	"bufio"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/internal/sim/sandbox"
)

// SoakConfig is one soak run: a server started from Server on MariaDB and
// Redis, logging in against a WeChat sandbox in the load generator's
// process (so the server's RSS is its own), driven by C clients for D,
// reporting every Every.
type SoakConfig struct {
	Server   string        // the wxbackend binary
	MySQL    string        // a MySQL DSN without a database: the run creates its own
	Redis    string        // a Redis address
	C        int           // concurrent clients
	D        time.Duration // how long
	Every    time.Duration // report interval
	Hostile  float64       // share of requests that are hostile
	LogsDir  string
	Progress io.Writer
}

// soakWindow is one report interval's numbers.
type soakWindow struct {
	at         time.Duration
	requests   int
	errors     int // answers a client did not expect (code 10, transport errors, wrong codes)
	p99        time.Duration
	rss        int64
	goroutines int
}

func runSoak(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen soak", flag.ContinueOnError)
	var c SoakConfig
	fs.StringVar(&c.Server, "server", "bin/wxbackend", "the wxbackend binary")
	fs.StringVar(&c.MySQL, "mysql", "root@tcp(127.0.0.1:3306)/", "MySQL/MariaDB DSN without a database")
	fs.StringVar(&c.Redis, "redis", "127.0.0.1:6379", "Redis address")
	fs.IntVar(&c.C, "c", 16, "concurrent clients")
	fs.DurationVar(&c.D, "d", 10*time.Minute, "how long to run")
	fs.DurationVar(&c.Every, "every", 30*time.Second, "report interval")
	fs.Float64Var(&c.Hostile, "hostile", 0.1, "share of hostile requests")
	fs.StringVar(&c.LogsDir, "logs", "bin", "where the server's log goes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.Progress = os.Stdout
	return Soak(ctx, c)
}

// Soak starts the server and drives the mixed workload: each client logs
// in, sends user info, fills in a nickname, reads its profile, checks its
// session and logs out, over and over; a share of requests are hostile
// (junk codes, forged tokens, garbage bodies, oversized bodies) and must be
// refused with their contract code. Every interval it prints the requests,
// unexpected answers, p99, and the server's RSS and goroutines.
func Soak(ctx context.Context, c SoakConfig) error {
	db := fmt.Sprintf("wxb_soak_%d", time.Now().Unix())
	srv, err := startOnMariaRedis(ctx, stackConfig{Server: c.Server, MySQL: c.MySQL, Redis: c.Redis, DB: db,
		Log: filepath.Join(c.LogsDir, "soak-server.log"), Env: []string{"WXB_RATE_LOGIN_PER_MINUTE=0", "WXB_RATE_SESSION_PER_MINUTE=0",
			"WXB_RATE_WECHAT_LOGINS_PER_SECOND=0"}})
	if err != nil {
		return err
	}
	defer srv.stop()
	pid, sbURL, debugAddr := srv.pid, srv.sandbox, srv.debugAddr
	phone := sandbox.NewPhone(sbURL, nil)
	client := newClient(c.C)
	api := apiclient.New(srv.base, client)

	ctx, cancel := context.WithTimeout(ctx, c.D)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var requests, unexpected int
	kinds := map[string]int{} // unexpected answers by step and code
	record := func(d time.Duration, ok bool, what string) {
		mu.Lock()
		lat = append(lat, d)
		requests++
		if !ok {
			unexpected++
			kinds[what]++
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := 0; i < c.C; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for n := 0; ctx.Err() == nil; n++ {
				soakCycle(ctx, api, phone, fmt.Sprintf("soak-%d-%d", i, n%50), r, c.Hostile, record)
			}
		}()
	}
	fmt.Fprintf(c.Progress, "soak: %d clients for %v on MariaDB (%s) + Redis, %.0f%% hostile; server pid %d\n",
		c.C, c.D, db, c.Hostile*100, pid)
	fmt.Fprintln(c.Progress, "| at | requests | unexpected | p99 | RSS | goroutines |\n|---|---|---|---|---|---|")
	var windows []soakWindow
	begin := time.Now()
	report := func() {
		mu.Lock()
		w := soakWindow{at: time.Since(begin).Round(time.Second), requests: requests, errors: unexpected}
		if len(lat) > 0 {
			slices.Sort(lat)
			w.p99 = lat[len(lat)*99/100]
		}
		lat, requests, unexpected = lat[:0], 0, 0
		mu.Unlock()
		w.rss, _ = procRSS(pid)
		w.goroutines, _ = goroutines("http://" + debugAddr)
		windows = append(windows, w)
		fmt.Fprintf(c.Progress, "| %v | %d | %d | %v | %.1f MiB | %d |\n", w.at, w.requests, w.errors,
			w.p99.Round(10*time.Microsecond), float64(w.rss)/(1<<20), w.goroutines)
	}
	report() // the start
	tick := time.NewTicker(c.Every)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			report()
		}
	}
	wg.Wait()
	report()
	total := 0
	for _, w := range windows {
		total += w.errors
	}
	first, last := windows[0], windows[len(windows)-1]
	fmt.Fprintf(c.Progress, "\nsoak: %d unexpected answers; RSS %.1f → %.1f MiB; goroutines %d → %d\n",
		total, float64(first.rss)/(1<<20), float64(last.rss)/(1<<20), first.goroutines, last.goroutines)
	for what, n := range kinds {
		fmt.Fprintf(c.Progress, "  %d × %s\n", n, what)
	}
	if total > 0 {
		return fmt.Errorf("%d unexpected answers (see %s)", total, filepath.Join(c.LogsDir, "soak-server.log"))
	}
	return nil
}

// stackConfig is a server to start on MariaDB + Redis, logging in against
// a sandbox served in the load generator's process (so the server's RSS is
// its own).
type stackConfig struct {
	Server string   // the wxbackend binary
	MySQL  string   // a MySQL DSN without a database
	Redis  string   // a Redis address
	DB     string   // the database to create (dropped first), also the Redis key prefix's and avatar directory's name (under os.TempDir())
	Log    string   // where the server's output goes
	Env    []string // settings beyond the stack's own (rate limits…)
}

// stack is a started server and what it uses.
type stack struct {
	*process
	pid       int
	sandbox   string // the sandbox's base URL
	debugAddr string // the server's pprof listener
	stopAll   func()
}

func (s *stack) stop() { s.stopAll() }

// startOnMariaRedis starts the sandbox and the server on loopback
// addresses, the server on a fresh MariaDB database and Redis sessions at
// warn level, and waits until it is ready.
func startOnMariaRedis(ctx context.Context, c stackConfig) (*stack, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debugAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := createMySQLDatabase(c.MySQL, c.DB); err != nil {
		return nil, err
	}
	sbURL, stopSandbox, err := startSandbox(ctx)
	if err != nil {
		return nil, err
	}
	env := append([]string{
		"WXB_HTTP_ADDR=" + addr, "WXB_HTTP_DEBUG_ADDR=" + debugAddr, "WXB_WECHAT_BASE_URL=" + sbURL,
		"WXB_WECHAT_APP_ID=" + sandbox.DefaultAppID, "WXB_WECHAT_APP_SECRET=" + sandbox.DefaultAppSecret,
		"WXB_DB_DRIVER=mysql", "WXB_DB_DSN=" + c.MySQL + c.DB, "WXB_SESSION_STORE=redis", "WXB_REDIS_ADDRS=" + c.Redis,
		"WXB_REDIS_KEY_PREFIX=wxbsoak:" + c.DB + ":", "WXB_AVATAR_DIR=" + filepath.Join(os.TempDir(), c.DB), "WXB_LOG_LEVEL=warn",
	}, c.Env...)
	srv, err := start("wxbackend", exec.Command(c.Server), env, c.Log, func(base string) bool {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, addr)
	if err != nil {
		stopSandbox()
		return nil, err
	}
	return &stack{process: srv, pid: srv.cmd.Process.Pid, sandbox: sbURL, debugAddr: debugAddr,
		stopAll: func() { srv.stop(); stopSandbox() }}, nil
}

// soakCycle is one client's visit, with hostile requests mixed in.
func soakCycle(ctx context.Context, api *apiclient.Client, phone *sandbox.Phone, user string, r *rand.Rand,
	hostile float64, record func(time.Duration, bool, string)) {
	timed := func(want int, f func() (apiclient.Response, error)) apiclient.Response {
		t0 := time.Now()
		resp, err := f()
		if ctx.Err() != nil {
			return resp
		}
		code := resp.Envelope.Code
		if err != nil && resp.HTTPStatus == 0 {
			code = -1 // transport
		}
		record(time.Since(t0), code == want, fmt.Sprintf("want %d, got %d (%s)", want, code, resp.Envelope.Msg))
		return resp
	}
	if r.Float64() < hostile {
		switch r.IntN(5) {
		case 0: // a junk login code
			timed(3, func() (apiclient.Response, error) {
				_, resp, err := api.Login(ctx, "junk"+strconv.Itoa(r.Int()))
				return resp, err
			})
		case 1: // a forged token
			timed(2, func() (apiclient.Response, error) {
				_, resp, err := api.Me(ctx, strings.Repeat("A", 43))
				return resp, err
			})
		case 2: // garbage JSON
			timed(1, func() (apiclient.Response, error) {
				return api.Do(ctx, apiclient.Request{Path: "/api/v1/login", RawBody: []byte(`{"code":`)})
			})
		case 3: // an oversized body
			timed(11, func() (apiclient.Response, error) {
				return api.Do(ctx, apiclient.Request{Path: "/api/v1/login", RawBody: make([]byte, 100<<10)})
			})
		case 4: // not an image
			timed(1, func() (apiclient.Response, error) {
				code, err := phone.Login(ctx, user)
				if err != nil {
					return apiclient.Response{}, err
				}
				login, _, err := api.Login(ctx, code)
				if err != nil {
					return apiclient.Response{}, err
				}
				_, resp, err := api.UploadAvatar(ctx, login.Token, "x.jpg", []byte("<script>alert(1)</script>"))
				return resp, ignoreAPIError(err)
			})
		}
		return
	}
	code, err := phone.Login(ctx, user)
	if err != nil {
		return
	}
	var token string
	timed(0, func() (apiclient.Response, error) {
		login, resp, err := api.Login(ctx, code)
		token = login.Token
		return resp, err
	})
	if token == "" {
		return
	}
	if info, err := phone.GetUserInfo(ctx, user); err == nil {
		timed(0, func() (apiclient.Response, error) {
			_, resp, err := api.SaveUserInfo(ctx, token, apiclient.UserInfo{EncryptedData: info.EncryptedData, IV: info.IV,
				RawData: info.RawData, Signature: info.Signature})
			return resp, err
		})
	}
	timed(0, func() (apiclient.Response, error) {
		_, resp, err := api.EditProfile(ctx, token, apiclient.Field{Name: "nickName", Value: "Soak 🧽 " + user})
		return resp, err
	})
	timed(0, func() (apiclient.Response, error) { _, resp, err := api.Me(ctx, token); return resp, err })
	timed(0, func() (apiclient.Response, error) { _, resp, err := api.Session(ctx, token); return resp, err })
	timed(0, func() (apiclient.Response, error) { return api.Logout(ctx, token) })
}

// ignoreAPIError keeps transport errors and drops an answer's code, which
// the caller checks.
func ignoreAPIError(err error) error {
	if _, ok := err.(*apiclient.Error); ok {
		return nil
	}
	return err
}

// procRSS returns a process's resident set size (VmRSS), in bytes.
func procRSS(pid int) (int64, error) { return procStatusBytes(pid, "VmRSS:") }

// goroutines reads the server's goroutine count from its pprof listener.
func goroutines(debugBase string) (int, error) {
	resp, err := http.Get(debugBase + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return 0, err
	}
	// "goroutine profile: total 42"
	n, err := strconv.Atoi(strings.TrimSpace(line[strings.LastIndexByte(line, ' ')+1:]))
	return n, err
}

// dropMySQLDatabase removes a run's database.
func dropMySQLDatabase(serverDSN, name string) error {
	db, err := sql.Open("mysql", serverDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP DATABASE IF EXISTS " + name)
	return err
}

// createMySQLDatabase makes a fresh utf8mb4 database for the run (dropped
// first if it exists).
func createMySQLDatabase(serverDSN, name string) error {
	db, err := sql.Open("mysql", serverDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name,
		"CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("mysql: %w", err)
		}
	}
	return nil
}
