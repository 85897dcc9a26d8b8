package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"wxbackend/internal/bench/nginxconf"
	"wxbackend/internal/sim/sandbox"
)

// The matrix's gateway part (issue 24): one upstream, the demo's echo
// service (cmd/wxecho), reached four ways with the same load: directly,
// through a bare Go reverse proxy (wxecho -proxy: the floor of a proxy hop
// on this machine, with no authentication), through wxbackend's built-in
// gateway, and through nginx asking wxbackend's /auth/forward
// (auth_request) with the README's configuration. Each way is
// a "server" of the part, measured with the CPU of every process on its
// path.

// GatewayPath is what the gateway part's requests GET: under the gateway's
// prefix, and forwarded as it is (no prefix stripped), so the upstream
// sees the same path all three ways.
const GatewayPath = "/app/orders"

// The gateway part's servers, in the order of the report's rows.
const (
	pathDirect  = "direct"
	pathBare    = "bare proxy"
	pathGateway = "gateway"
	pathNginx   = "nginx"
)

// The addresses docs/proxies/nginx.conf is written with, replaced by the
// run's own (as the forward-auth tests do).
const (
	docWXBackend = "127.0.0.1:8080"
	docUpstream  = "127.0.0.1:9000"
	docListen    = "listen 8000;"
)

// gatewayFile routes the built-in gateway's /app/ to the upstream, its
// path kept.
func gatewayFile(upstream string) string {
	return fmt.Sprintf("# Written by loadgen matrix: the gateway part's upstream.\n[[upstream]]\nname = \"bench\"\nprefix = \"/app/\"\nurl = \"http://%s\"\n", upstream)
}

// renderNginx turns docs/proxies/nginx.conf (site) into a runnable nginx
// configuration: the site with the run's addresses, and a main file that
// includes it, keeps nginx in the foreground with its master and workers
// processes (so the master's process tree is all of nginx), and writes
// nothing outside dir. The access log is off: wxbackend's access log
// records every request on both paths.
func renderNginx(site, wxbackend, upstream, listen, dir string, workers int) (mainConf, siteConf string, err error) {
	for _, s := range []string{docWXBackend, docUpstream, docListen} {
		if !strings.Contains(site, s) {
			return "", "", fmt.Errorf("the nginx configuration no longer holds %q, which the benchmark replaces", s)
		}
	}
	siteConf = strings.NewReplacer(docWXBackend, wxbackend, docUpstream, upstream, docListen, "listen "+listen+";").Replace(site)
	mainConf = nginxconf.Main(dir, workers, "warn", 4096)
	return mainConf, siteConf, nil
}

// callGateway sends one GET of the gateway part and checks the answer: the
// echo service's, with the identity headers when a token went along (the
// gateway or nginx put them there) and none without. It returns the error's
// kind, or "" for a success.
func callGateway(ctx context.Context, client *http.Client, s Scenario, token string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Target+GatewayPath, nil)
	if err != nil {
		return "transport"
	}
	if s.Bearer {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return "transport"
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	switch {
	case err != nil:
		return "transport"
	case res.StatusCode != http.StatusOK:
		return fmt.Sprintf("HTTP %d", res.StatusCode)
	case !echoIsRight(body, s.Bearer):
		return "wrong answer"
	}
	return ""
}

// echoIsRight checks the echo service's answer (internal/sim/echo, indented
// JSON) by its bytes, which costs the load generator, on the servers'
// cores, less than decoding it.
func echoIsRight(body []byte, identity bool) bool {
	return bytes.Contains(body, []byte(`"service": "wxecho"`)) &&
		bytes.Contains(body, []byte(`"path": "`+GatewayPath+`"`)) &&
		bytes.Contains(body, []byte(`"X-Wx-Openid": "o`)) == identity
}

// procsCPU reads the CPU time of each process (and its descendants): all
// of it, and its system part.
func procsCPU(procs []Proc) (all, sys []time.Duration) {
	all, sys = make([]time.Duration, len(procs)), make([]time.Duration, len(procs))
	for i, p := range procs {
		u, s, _ := procTimes(p.PID)
		all[i], sys[i] = u+s, s
	}
	return all, sys
}

// gatewayRig is what the gateway part runs for one session store: the
// shared upstream, a wxbackend routing /app/ to it, and nginx asking that
// wxbackend.
type gatewayRig struct {
	upstream, bare, wxbackend, nginx *process
}

// gatewayPath is one of the part's ways to the upstream: the base URL the
// load goes to, whether it carries a token, and the processes on the way.
type gatewayPath struct {
	name   string
	target string
	bearer bool
	procs  []Proc
}

// paths returns the part's four ways to the upstream.
func (g gatewayRig) paths() []gatewayPath {
	up := Proc{"upstream", g.upstream.cmd.Process.Pid}
	bare := Proc{"bare proxy", g.bare.cmd.Process.Pid}
	wxb := Proc{"wxbackend", g.wxbackend.cmd.Process.Pid}
	ngx := Proc{"nginx", g.nginx.cmd.Process.Pid}
	return []gatewayPath{
		{pathDirect, g.upstream.base, false, []Proc{up}},
		{pathBare, g.bare.base, false, []Proc{up, bare}},
		{pathGateway, g.wxbackend.base, true, []Proc{up, wxb}},
		{pathNginx, g.nginx.base, true, []Proc{up, wxb, ngx}},
	}
}

// startUpstream starts the echo service on a free loopback port.
func (m MatrixConfig) startUpstream() (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return start("upstream", exec.Command(m.Echo, "-addr", addr), nil, filepath.Join(m.Dir, "wxecho.log"), answersGET, addr)
}

// startBareProxy starts wxecho as a bare reverse proxy to upstream.
func (m MatrixConfig) startBareProxy(upstream *process) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return start("bare proxy", exec.Command(m.Echo, "-addr", addr, "-proxy", upstream.base), nil, filepath.Join(m.Dir, "wxecho-proxy.log"), answersGET, addr)
}

// startGatewayRig starts wxbackend (SQLite users, sessions in memory or
// Redis) with the gateway in front of upstream and trusting nginx on
// loopback, then nginx in front of both.
func (m MatrixConfig) startGatewayRig(sessions, sbURL string, upstream *process) (gatewayRig, error) {
	rig := gatewayRig{upstream: upstream}
	upAddr := strings.TrimPrefix(upstream.base, "http://")
	file := filepath.Join(m.Dir, "gateway.toml")
	if err := os.WriteFile(file, []byte(gatewayFile(upAddr)), 0o600); err != nil {
		return rig, err
	}
	db := filepath.Join(m.Dir, "gateway-"+sessions+".db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(db + suffix)
	}
	st := store{name: sessions + " sessions", driver: "sqlite", sessions: sessions, dsn: "file:" + db}
	addr, err := freeAddr()
	if err != nil {
		return rig, err
	}
	env := append(m.wxbackendEnv(st, addr, sbURL), "WXB_GATEWAY_FILE="+file, "WXB_HTTP_TRUSTED_PROXIES=127.0.0.1")
	rig.wxbackend, err = start("wxbackend", exec.Command(m.Server), env, filepath.Join(m.Dir, "wxbackend-gateway-"+sessions+".log"), answersReadyz, addr)
	if err != nil {
		return rig, err
	}
	rig.nginx, err = m.startNginx(sessions, strings.TrimPrefix(rig.wxbackend.base, "http://"), upAddr)
	if err != nil {
		rig.wxbackend.stop()
		return rig, err
	}
	rig.bare, err = m.startBareProxy(upstream)
	if err != nil {
		rig.stop()
		return rig, err
	}
	return rig, nil
}

// startNginx runs nginx with the README's configuration in a directory of
// its own.
func (m MatrixConfig) startNginx(name, wxbackend, upstream string) (*process, error) {
	site, err := os.ReadFile(m.NginxConf)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(m.Dir, "nginx-"+name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	mainConf, siteConf, err := renderNginx(string(site), wxbackend, upstream, addr, dir, m.NginxWorkers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.NginxConf, err)
	}
	for file, content := range map[string]string{"nginx.conf": mainConf, "site.conf": siteConf} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	log := filepath.Join(dir, "error.log")
	cmd := exec.Command(m.Nginx, "-p", dir, "-e", log, "-c", filepath.Join(dir, "nginx.conf"))
	return start("nginx", cmd, nil, filepath.Join(dir, "nginx.out"), answersGET, addr)
}

func (g gatewayRig) stop() {
	if g.bare != nil {
		g.bare.stop()
	}
	g.nginx.stop()
	g.wxbackend.stop()
}

// Gateway runs the gateway part for each session store of m.GatewaySessions
// and returns the median run of each path, in the order of the report.
func Gateway(ctx context.Context, m MatrixConfig, sbURL string, wx phone, progress func(string)) ([]Result, error) {
	if len(m.GatewaySessions) == 0 {
		return nil, nil
	}
	upstream, err := m.startUpstream()
	if err != nil {
		return nil, err
	}
	defer upstream.stop()
	var results []Result
	for _, sessions := range m.GatewaySessions {
		if sessions == "redis" {
			if err := clearRedis(ctx, m.Redis); err != nil {
				return results, err
			}
		}
		rig, err := m.startGatewayRig(sessions, sbURL, upstream)
		if err != nil {
			return results, err
		}
		paths := rig.paths()
		rounds := map[string][]Result{}
		for rnd := 0; rnd < m.Rounds; rnd++ {
			for k := range paths {
				p := paths[(rnd+k)%len(paths)]
				sc := Scenario{Route: "gateway", Backend: rig.wxbackend.base, Target: p.target, Bearer: p.bearer, Procs: p.procs,
					Users: m.Users, Concurrency: m.C, Duration: m.D, Warmup: m.Warmup,
					UserPrefix: fmt.Sprintf("gw-%s-%s-%d", p.name, sessions, rnd)}
				r, err := Run(ctx, sc, wx)
				if err != nil {
					rig.stop()
					return results, fmt.Errorf("gateway part, %s with %s sessions: %w", p.name, sessions, err)
				}
				r.Store, r.Server = sessions+" sessions", p.name
				progress(fmt.Sprintf("%-17s %-9s %-20s round %d: %.0f req/s, p50 %v p99 %v, path CPU %v per request, errors %s",
					r.Store, p.name, r.Label(), rnd+1, r.RPS(), round(r.P50), round(r.P99), round(r.pathCPU()), errorList(r.Errors)))
				rounds[p.name] = append(rounds[p.name], r)
			}
		}
		rig.stop()
		for _, p := range paths {
			results = append(results, median(rounds[p.name]))
		}
	}
	return results, nil
}

// answersGET reports whether something at base answers HTTP at all.
func answersGET(base string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(base + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// wxbackendEnv is wxbackend's environment in the matrix: the sandbox's
// default app, the store's database and sessions, no rate limits.
func (m MatrixConfig) wxbackendEnv(st store, addr, sbURL string) []string {
	return []string{
		"WXB_HTTP_ADDR=" + addr, "WXB_WECHAT_BASE_URL=" + sbURL,
		"WXB_WECHAT_APP_ID=" + sandbox.DefaultAppID, "WXB_WECHAT_APP_SECRET=" + sandbox.DefaultAppSecret,
		"WXB_DB_DRIVER=" + st.driver, "WXB_DB_DSN=" + st.dsn, "WXB_SESSION_STORE=" + st.sessions,
		"WXB_REDIS_ADDRS=" + m.Redis, "WXB_REDIS_KEY_PREFIX=wxbench:", "WXB_LOG_LEVEL=" + m.LogLevel,
		// One client drives all the load: the limits would measure themselves.
		"WXB_RATE_LOGIN_PER_MINUTE=0", "WXB_RATE_SESSION_PER_MINUTE=0", "WXB_RATE_WECHAT_LOGINS_PER_SECOND=0",
	}
}

// answersReadyz reports whether wxbackend at base is ready.
func answersReadyz(base string) bool {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
