package loadgen

import (
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// The gateway's goals (issue 24): over calling the upstream directly, at
// most this much CPU per request on the path, and more requests per second
// than nginx + auth_request.
const maxGatewayCPUOverDirect = 60 * time.Microsecond

// gatewayHeading starts the report's gateway section; make bench-gateway
// replaces the section under it in an existing report.
const gatewayHeading = "## Gateway"

// isGateway reports whether r is a run of the gateway part.
func isGateway(r Result) bool { return r.Route == "gateway" }

// procCell writes the CPU per request of the named process of r's path,
// with its system (kernel) share, or "–" when it is not on the path.
func (r Result) procCell(name string) string {
	for i, p := range r.Procs {
		if p.Name == name && i < len(r.ProcCPU) && r.Requests > 0 {
			cell := round(r.ProcCPU[i] / time.Duration(r.Requests)).String()
			if i < len(r.ProcSys) && r.ProcCPU[i] > 0 {
				cell += fmt.Sprintf(" (%.0f%% sys)", 100*float64(r.ProcSys[i])/float64(r.ProcCPU[i]))
			}
			return cell
		}
	}
	return "–"
}

// pathCPU is the CPU per request of every process on r's path together.
func (r Result) pathCPU() time.Duration {
	var sum time.Duration
	for _, d := range r.ProcCPU {
		sum += d
	}
	if r.Requests == 0 {
		return 0
	}
	return sum / time.Duration(r.Requests)
}

// GatewayReport renders the gateway part's results as the report's
// section ("" without any).
func GatewayReport(m MatrixConfig, results []Result) string {
	byStore := map[string]map[string]Result{}
	var stores []string
	for _, r := range results {
		if !isGateway(r) {
			continue
		}
		if byStore[r.Store] == nil {
			byStore[r.Store] = map[string]Result{}
			stores = append(stores, r.Store)
		}
		byStore[r.Store][r.Server] = r
	}
	if len(stores) == 0 {
		return ""
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("%s\n\n", gatewayHeading)
	w("Issue 24's comparison: one upstream process, the demo's echo service (`cmd/wxecho`, which answers the headers it got as JSON), reached four ways under the same load: ")
	w("K = %d users logged in through the WeChat sandbox to wxbackend first, then C = %d connections for D = %v (after %v of warm-up) of `GET %s`; ", m.Users, m.C, m.D, m.Warmup, GatewayPath)
	w("%d runs per way, alternating which goes first, the run of median throughput shown (with the range of all runs). ", m.Rounds)
	w("**direct**: the upstream called directly, no token. **bare proxy**: a Go `httputil.ReverseProxy` with the gateway's transport settings and nothing else (`wxecho -proxy`), no token: the floor of one proxy hop on this machine. **gateway**: wxbackend's built-in gateway (`WXB_GATEWAY_FILE` routing `/app/` to the upstream, its path kept), the user's token as `Authorization: Bearer`. ")
	w("**nginx**: nginx%s with `docs/proxies/nginx.conf` as the README shows it (`auth_request` to the same wxbackend's `/auth/forward`, then the same upstream), the same token; ", nginxVersion(m.Nginx))
	w("`worker_processes %d`, as many as the machine's cores, as Go's GOMAXPROCS gives wxbackend; its access log off. ", m.NginxWorkers)
	w("Every answer is checked: the upstream's, with the identity headers when a token went along and none without. ")
	w("wxbackend (SQLite users, sessions as the row says) logs at level `%s`: an access-log line per gateway request, and per `/auth/forward` call behind nginx. ", m.LogLevel)
	w("CPU is each process's own from `/proc` (nginx: its master and workers), per request, with the share spent in the kernel (*sys*: system calls, the loopback TCP they drive); *path* sums every process on the way. Load generator, processes and Redis share the machine's cores.\n\n")

	w("| sessions | goal | gateway CPU/request over direct | of which a bare Go proxy hop | gateway / nginx req/s | verdict |\n|---|---|---:|---:|---:|---|\n")
	for _, s := range stores {
		d, g, n := byStore[s][pathDirect], byStore[s][pathGateway], byStore[s][pathNginx]
		if d.Requests == 0 || g.Requests == 0 || n.Requests == 0 {
			continue
		}
		over := g.pathCPU() - d.pathCPU()
		ratio := g.RPS() / n.RPS()
		var missed []string
		if over > maxGatewayCPUOverDirect {
			missed = append(missed, fmt.Sprintf("CPU > %v over direct", maxGatewayCPUOverDirect))
		}
		if ratio <= 1 {
			missed = append(missed, "not more req/s than nginx")
		}
		if len(d.Errors)+len(g.Errors)+len(n.Errors) > 0 {
			missed = append(missed, "errors")
		}
		v := "met"
		if len(missed) > 0 {
			v = "**missed**: " + strings.Join(missed, ", ")
		}
		hop := "–"
		if b := byStore[s][pathBare]; b.Requests > 0 {
			hop = round(b.pathCPU() - d.pathCPU()).String()
		}
		w("| %s | ≤ %v CPU over direct, more req/s than nginx | %v | %s | %.2f× | %s |\n", s, maxGatewayCPUOverDirect, round(over), hop, ratio, v)
	}

	w("\n| sessions | path | req/s | p50 | p99 | CPU/request: upstream | bare proxy | wxbackend | nginx | path | over direct: req/s | p99 | path CPU/request | errors |\n")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range stores {
		d := byStore[s][pathDirect]
		for _, name := range []string{pathDirect, pathBare, pathGateway, pathNginx} {
			r, ok := byStore[s][name]
			if !ok {
				continue
			}
			cells := []string{}
			for _, p := range []string{"upstream", "bare proxy", "wxbackend", "nginx"} {
				cells = append(cells, r.procCell(p))
			}
			delta := "– | – | –"
			if name != pathDirect && d.Requests > 0 {
				delta = fmt.Sprintf("%+.0f%% | %s | %s", (r.RPS()/d.RPS()-1)*100, signed(r.P99-d.P99), signed(r.pathCPU()-d.pathCPU()))
			}
			w("| %s | %s | %.0f (%.0f–%.0f) | %v | %v | %s | %v | %s | %s |\n", s, name, r.RPS(), r.MinRPS, r.MaxRPS, round(r.P50), round(r.P99),
				strings.Join(cells, " | "), round(r.pathCPU()), delta, errorList(r.Errors))
		}
	}
	return b.String()
}

// signed writes a difference with its sign.
func signed(d time.Duration) string {
	if d < 0 {
		return "−" + round(-d).String()
	}
	return "+" + round(d).String()
}

// nginxVersion is what nginx -v says (" 1.22.1"), "" when it says nothing.
func nginxVersion(bin string) string {
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		return ""
	}
	_, v, ok := strings.Cut(strings.TrimSpace(string(out)), "nginx/")
	if !ok {
		return ""
	}
	return " " + v
}

// spliceSection replaces the section of doc starting at heading (to the
// next heading of the same level, or the end) with section, or adds it at
// the end when doc has none.
func spliceSection(doc, heading, section string) string {
	section = strings.TrimRight(section, "\n") + "\n"
	start := strings.Index(doc, "\n"+heading+"\n")
	if strings.TrimSpace(doc) == "" {
		return section
	}
	if start < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	start++
	rest := doc[start+len(heading):]
	end := len(doc)
	if i := strings.Index(rest, "\n## "); i >= 0 {
		end = start + len(heading) + i + 1
		section += "\n"
	}
	return doc[:start] + section + doc[end:]
}

// section returns the section of doc under heading (a "## " line), up to
// the next such heading; "" when doc has none.
func section(doc, heading string) string {
	start := strings.Index(doc, "\n"+heading+"\n")
	if start < 0 {
		return ""
	}
	rest := doc[start+1:]
	if i := strings.Index(rest[len(heading):], "\n## "); i >= 0 {
		rest = rest[:len(heading)+i+1]
	}
	return rest
}
