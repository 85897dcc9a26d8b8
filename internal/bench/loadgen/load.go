package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/domain"
	"wxbackend/internal/sim/sandbox"
)

// phone is WeChat on the load generator's side: the sandbox in process, or
// its client face over HTTP.
type phone interface {
	sandbox.WX
	SetProfile(ctx context.Context, user string, p sandbox.Profile) error
}

// httpPhone adapts sandbox.Phone to phone.
type httpPhone struct{ *sandbox.Phone }

func (p httpPhone) SetProfile(ctx context.Context, user string, prof sandbox.Profile) error {
	_, err := p.Phone.SetProfile(ctx, user, prof)
	return err
}

// Scenario is one load run.
type Scenario struct {
	Backend string // base URL
	// Route: "getinfo"; "login" (a returning user, a fresh code each
	// time); "login-new" (a user never seen before each time); "session"
	// (a new user's first session: /login/, /getinfo/, GET /api/v1/me,
	// counted as one); "floor" and "floor-insert" (the baseline's floor
	// routes, the second with a new user's INSERT).
	Route       string
	Changing    bool          // getinfo: a different profile on every request
	Users       int           // K
	Concurrency int           // C
	Duration    time.Duration // D
	Warmup      time.Duration
	PID         int    // the server's process, for CPU and RSS; 0: not measured
	UserPrefix  string // distinct per server and run, so runs do not share users
	TokenLen    int    // the length of the server's tokens; 0: wxbackend's shape
	// Route "gateway": GETs of GatewayPath on Target (the upstream, the
	// built-in gateway or a proxy in front of it), with the user's token
	// as "Authorization: Bearer" when Bearer; users log in to Backend.
	Target string
	Bearer bool
	// Procs are the processes on the request's path whose CPU is measured
	// one by one (Result.ProcCPU), beside PID's.
	Procs []Proc
	// Mallocs, when set, reads the server's heap allocations so far, for
	// Result.Mallocs.
	Mallocs func() (uint64, error)
}

// Proc is a process measured during a run, named for the report.
type Proc struct {
	Name string
	PID  int
}

// Result is what a run measured.
type Result struct {
	Scenario
	Store, Server  string  // set by the matrix
	Rounds         int     // set by the matrix: how many runs this is the median of
	MinRPS, MaxRPS float64 // their spread
	Requests       int
	OK             int
	Errors         map[string]int // by contract code, or "transport" / "wrong answer"
	Elapsed        time.Duration
	P50, P90       time.Duration
	P99, Max       time.Duration
	CPU            time.Duration   // server CPU during the measured phase
	ProcCPU        []time.Duration // CPU of each of Scenario.Procs during the measured phase
	ProcSys        []time.Duration // the system (kernel) part of each ProcCPU
	PeakRSS        int64           // server's peak resident set, bytes
	Mallocs        uint64          // the server's heap allocations during the measured phase; 0: not measured
}

// AllocsPerRequest is the server's heap allocations per request (0: not
// measured).
func (r Result) AllocsPerRequest() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Mallocs) / float64(r.Requests)
}

// Label names the scenario.
func (s Scenario) Label() string {
	switch {
	case s.Route == "login":
		return "/login/ returning"
	case s.Route == "login-new":
		return "/login/ new user"
	case s.Route == "session":
		return "first session"
	case s.Route == "floor":
		return "floor: envelope"
	case s.Route == "floor-insert":
		return "floor: envelope + INSERT"
	case s.Route == "gateway":
		return "GET " + GatewayPath
	case s.Changing:
		return "/getinfo/ changing"
	default:
		return "/getinfo/ same"
	}
}

// RPS is the measured throughput of successful requests.
func (r Result) RPS() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

// CPUPerRequest is the server's CPU time per request.
func (r Result) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// variants of a user's profile for a changing-profile run: consecutive
// requests of a user cycle through them, so each one changes the row.
const variants = 8

type loadUser struct {
	name   string
	token  string
	bodies [][]byte // a /getinfo/ body per variant
	nicks  []string
}

func newClient(c int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: c * 2, MaxIdleConnsPerHost: c * 2, IdleConnTimeout: time.Minute, DisableCompression: true,
	}}
}

// post sends a pre-encoded JSON body to path and reads the envelope.
func post(ctx context.Context, api *apiclient.Client, path string, body []byte) (apiclient.Raw, error) {
	resp, err := api.Do(ctx, apiclient.Request{Path: path, RawBody: body})
	return resp.Envelope, err
}

// prepare logs the scenario's users in and seals their payloads.
func prepare(ctx context.Context, s Scenario, wx phone, client *http.Client) ([]*loadUser, error) {
	users := make([]*loadUser, s.Users)
	n := 1
	if s.Changing {
		n = variants
	}
	errs := make(chan error, s.Users)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range users {
		u := &loadUser{name: fmt.Sprintf("%s-%d", s.UserPrefix, i)}
		users[i] = u
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs <- prepareUser(ctx, s, wx, client, u, n)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return users, nil
}

func prepareUser(ctx context.Context, s Scenario, wx phone, client *http.Client, u *loadUser, n int) error {
	if s.Route == "gateway" && !s.Bearer || s.Route == "login-new" || s.Route == "session" || strings.HasPrefix(s.Route, "floor") {
		return nil // no token needed, or every request logs in a new user
	}
	code, err := wx.Login(ctx, u.name)
	if err != nil {
		return fmt.Errorf("wx.login: %w", err)
	}
	login, _, err := apiclient.New(s.Backend, client).ClassicLogin(ctx, code)
	if err != nil {
		return fmt.Errorf("login of %s: %w", u.name, err)
	}
	u.token = login.Token
	if s.Route != "getinfo" {
		return nil
	}
	for v := 0; v < n; v++ {
		nick := fmt.Sprintf("负载 %s 🚀 v%d", u.name, v)
		if err := wx.SetProfile(ctx, u.name, sandbox.Profile{NickName: nick, Gender: 1, Language: "zh_CN",
			City: "Guangzhou", Province: "Guangdong", Country: "CN",
			AvatarURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLhKbkZ7q6jicpBd0cGbMGB3bL2jGbcKtG0/132"}); err != nil {
			return err
		}
		info, err := wx.GetUserInfo(ctx, u.name)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]string{"iv": info.IV, "encrypedData": info.EncryptedData, "token": u.token})
		u.bodies = append(u.bodies, b)
		u.nicks = append(u.nicks, nick)
	}
	return nil
}

// Run prepares and drives one scenario.
func Run(ctx context.Context, s Scenario, wx phone) (Result, error) {
	client := newClient(s.Concurrency)
	defer client.CloseIdleConnections()
	users, err := prepare(ctx, s, wx, client)
	if err != nil {
		return Result{}, err
	}
	if s.Warmup > 0 {
		drive(ctx, s, wx, client, users, s.Warmup)
	}
	var m0 uint64
	if s.Mallocs != nil {
		if m0, err = s.Mallocs(); err != nil {
			return Result{}, fmt.Errorf("mallocs: %w", err)
		}
	}
	procs0, sys0 := procsCPU(s.Procs)
	cpu0, _ := procCPU(s.PID)
	start := time.Now()
	lat, errs := drive(ctx, s, wx, client, users, s.Duration)
	elapsed := time.Since(start)
	cpu1, _ := procCPU(s.PID)
	procs1, sys1 := procsCPU(s.Procs)
	r := Result{Scenario: s, Elapsed: elapsed, Errors: errs, CPU: cpu1 - cpu0, Requests: len(lat)}
	if s.Mallocs != nil {
		m1, err := s.Mallocs()
		if err != nil {
			return Result{}, fmt.Errorf("mallocs: %w", err)
		}
		r.Mallocs = m1 - m0
	}
	for i := range procs1 {
		r.ProcCPU = append(r.ProcCPU, procs1[i]-procs0[i])
		r.ProcSys = append(r.ProcSys, sys1[i]-sys0[i])
	}
	r.PeakRSS, _ = procPeakRSS(s.PID)
	for _, n := range errs {
		r.OK -= n
	}
	r.OK += len(lat)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		at := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
		r.P50, r.P90, r.P99, r.Max = at(0.50), at(0.90), at(0.99), lat[len(lat)-1]
	}
	return r, nil
}

// drive sends requests from C workers for d, checking every answer.
func drive(ctx context.Context, s Scenario, wx phone, client *http.Client, users []*loadUser, d time.Duration) ([]time.Duration, map[string]int) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Uint64
	var mu sync.Mutex
	var all []time.Duration
	errs := map[string]int{}
	api := apiclient.New(s.Backend, client)
	var wg sync.WaitGroup
	for w := 0; w < s.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			local := map[string]int{}
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				u := users[i%uint64(len(users))]
				if s.Route == "gateway" {
					t0 := time.Now()
					kind := callGateway(context.WithoutCancel(ctx), client, s, u.token)
					lat = append(lat, time.Since(t0))
					if kind != "" {
						local[kind]++
					}
					continue
				}
				if s.Route == "session" {
					name := fmt.Sprintf("%s-s%d", s.UserPrefix, i)
					d, kind := firstSession(context.WithoutCancel(ctx), wx, api, name, s.TokenLen)
					if d > 0 {
						lat = append(lat, d)
					}
					if kind != "" {
						local[kind]++
					}
					continue
				}
				var body []byte
				var want string
				path := "/getinfo/"
				switch s.Route {
				case "login", "login-new":
					name := u.name
					if s.Route == "login-new" {
						name = fmt.Sprintf("%s-n%d", s.UserPrefix, i)
					}
					code, err := wx.Login(ctx, name)
					if err != nil {
						continue
					}
					body, path = []byte(`{"code":"`+code+`"}`), "/login/"
				case "floor", "floor-insert":
					path = "/" + strings.ReplaceAll(s.Route, "-", "/") + "/"
					body = []byte(fmt.Sprintf(`{"code":"%s-f%d"}`, s.UserPrefix, i))
				default:
					v := int(i/uint64(len(users))) % len(u.bodies)
					body, want = u.bodies[v], u.nicks[v]
				}
				t0 := time.Now()
				// A request started in time runs to its end and counts.
				e, err := post(context.WithoutCancel(ctx), api, path, body)
				lat = append(lat, time.Since(t0))
				switch {
				case err != nil:
					local["transport"]++
				case e.Code != 0:
					local[fmt.Sprintf("code %d", e.Code)]++
				case !answerIsRight(s.Route, e.Data, want, s.TokenLen):
					local["wrong answer"]++
				}
			}
			mu.Lock()
			all = append(all, lat...)
			for k, n := range local {
				errs[k] += n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, errs
}

// firstSession is a new user's first session, as a mini-program's first
// launch makes it: /login/, /getinfo/ with the profile sealed under the new
// session's key, GET /api/v1/me. It answers the three requests' latency
// together, and the kind of the first failure ("" when none).
func firstSession(ctx context.Context, wx phone, api *apiclient.Client, name string, tokenLen int) (time.Duration, string) {
	code, err := wx.Login(ctx, name)
	if err != nil {
		return 0, "sandbox"
	}
	check := func(e apiclient.Raw, err error) string {
		switch {
		case err != nil:
			return "transport"
		case e.Code != 0:
			return fmt.Sprintf("code %d", e.Code)
		}
		return ""
	}
	t0 := time.Now()
	login, err := post(ctx, api, "/login/", []byte(`{"code":"`+code+`"}`))
	total := time.Since(t0)
	if kind := check(login, err); kind != "" {
		return total, kind
	}
	var l apiclient.Login
	if json.Unmarshal(login.Data, &l) != nil || !answerIsRight("login", login.Data, "", tokenLen) {
		return total, "wrong answer"
	}
	info, err := wx.GetUserInfo(ctx, name) // the sandbox's default profile, under the new key
	if err != nil {
		return total, "sandbox"
	}
	body, _ := json.Marshal(map[string]string{"iv": info.IV, "encrypedData": info.EncryptedData, "token": l.Token})
	t0 = time.Now()
	saved, err := post(ctx, api, "/getinfo/", body)
	total += time.Since(t0)
	if kind := check(saved, err); kind != "" {
		return total, kind
	}
	t0 = time.Now()
	resp, err := api.Do(ctx, apiclient.Request{Method: http.MethodGet, Path: "/api/v1/me", Token: l.Token})
	total += time.Since(t0)
	if kind := check(resp.Envelope, err); kind != "" {
		return total, kind
	}
	return total, ""
}

// answerIsRight checks a successful answer: a token of tokenLen (0: of
// wxbackend's shape) for a login, the profile just sent for a getinfo, code
// 0 for the floor.
func answerIsRight(route string, data json.RawMessage, wantNick string, tokenLen int) bool {
	if strings.HasPrefix(route, "floor") {
		return true
	}
	if route == "login" || route == "login-new" {
		var d apiclient.Login
		if json.Unmarshal(data, &d) != nil {
			return false
		}
		if tokenLen == 0 {
			_, err := domain.ParseToken(d.Token)
			return err == nil
		}
		return len(d.Token) == tokenLen
	}
	var d apiclient.ClassicProfile
	return json.Unmarshal(data, &d) == nil && d.Name == wantNick
}

func (r Result) String() string {
	var errs []string
	for k, n := range r.Errors {
		errs = append(errs, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(errs)
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	return fmt.Sprintf("%d requests in %v: %.0f req/s ok; latency p50 %v p90 %v p99 %v max %v; errors %s; server CPU %.3f s per 1,000 requests, peak RSS %.1f MiB",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.RPS(), r.P50, r.P90, r.P99, r.Max, strings.Join(errs, ", "),
		r.CPUPerRequest().Seconds()*1000, float64(r.PeakRSS)/(1<<20))
}
