package wiring_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "wxbackend"

// Packages that exist for tests only. No production package may import one.
var testSupport = []string{
	"adapters/testenv",
	"adapters/testenv/tcpproxy",
	"adapters/sqlstore/sqltest",
	"adapters/httpapi/openapitest",
	"ports/porttest",
	"ports/portfake",
	"cmd/wxbackend/wiring/wiringtest",
}

// Development tools: the WeChat sandbox ("logs anyone in as anyone"), the
// simulated mini-program, the demo's echo service, the load generator and
// the baseline, with their mains. They may use the product; no product
// package may use them, so the server's binary holds none of them.
var tools = []string{
	"internal/sim",
	"internal/bench",
	"cmd/wxsandbox",
	"cmd/wxsim",
	"cmd/wxecho",
	"cmd/loadgen",
	"cmd/baseline",
}

// isTool reports whether rel is a development tool's package.
func isTool(rel string) bool {
	return rel != "" && slices.ContainsFunc(tools, func(dir string) bool { return under(rel, dir) })
}

// Packages any adapter may import besides the core: shared helpers, each
// named for what it holds.
var sharedByAdapters = []string{
	"config/setting",             // settings declared on each adapter's options
	"adapters/httpapi/apiclient", // the wire types of our API, and its client
}

type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Name       string
}

// listPackages runs go list on the module.
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps,Name", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test")
		}
		dir = parent
	}
}

// own returns the module-relative path of a package of the module, or "".
func own(importPath string) string {
	if importPath == module {
		return "."
	}
	rel, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	return rel
}

// under reports whether rel is dir or inside it.
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// adapterOf returns the adapter a package belongs to (adapters/<name>), or "".
func adapterOf(rel string) string {
	parts := strings.Split(rel, "/")
	if len(parts) < 2 || parts[0] != "adapters" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// TestArchitecture_DependenciesPointInward holds the layers to the house
// style: domain imports the standard library only, ports only domain, app
// only ports and domain (no adapter, driver or framework), config (the
// settings reader) nothing of ours, an adapter no
// other adapter, no production package a test-support package, and no
// product package (domain, ports, app, adapters, config, the server's cmd)
// a development tool (internal/sim, internal/bench).
func TestArchitecture_DependenciesPointInward(t *testing.T) {
	for _, v := range violations(listPackages(t)) {
		t.Error(v)
	}
}

// violations lists every import that breaks a rule.
func violations(pkgs []goPackage) []string {
	var out []string
	bad := func(p goPackage, imp, why string) {
		out = append(out, p.ImportPath+" imports "+imp+": "+why)
	}
	for _, p := range pkgs {
		rel := own(p.ImportPath)
		support := slices.ContainsFunc(testSupport, func(s string) bool { return rel == s })
		for _, imp := range p.Imports {
			impRel := own(imp)
			std := !strings.Contains(strings.Split(imp, "/")[0], ".") && impRel == ""
			switch {
			case under(rel, "domain") && !std:
				bad(p, imp, "domain uses the standard library only")
			case under(rel, "config") && impRel != "" && !under(impRel, "config"):
				bad(p, imp, "config is a leaf library: it imports nothing of ours")
			case under(rel, "ports") && !support && !std && impRel != "domain":
				bad(p, imp, "ports use domain only")
			case under(rel, "app"):
				if impRel != "" && impRel != "domain" && impRel != "ports" {
					bad(p, imp, "app uses ports and domain only")
				}
				if impRel == "" && !std && imp != "golang.org/x/sync/singleflight" {
					bad(p, imp, "app uses no driver or framework")
				}
			case adapterOf(rel) != "" && !support && adapterOf(impRel) != "" &&
				adapterOf(impRel) != adapterOf(rel) && !slices.Contains(sharedByAdapters, impRel):
				bad(p, imp, "an adapter does not use another adapter (shared helpers go in a shared package)")
			}
			if !support && slices.Contains(testSupport, impRel) {
				bad(p, imp, "production code does not use test support")
			}
			if !support && !isTool(rel) && isTool(impRel) {
				bad(p, imp, "the product does not use development tools (internal/sim, internal/bench)")
			}
		}
	}
	return out
}

// The rules catch what they are for: a check that cannot fail is no check.
func TestArchitecture_RulesCatchViolations(t *testing.T) {
	pkgs := []goPackage{
		{ImportPath: "wxbackend/domain", Imports: []string{"time", "github.com/jmoiron/sqlx"}},
		{ImportPath: "wxbackend/ports", Imports: []string{"wxbackend/domain", "wxbackend/app"}},
		{ImportPath: "wxbackend/app", Imports: []string{"wxbackend/ports", "wxbackend/adapters/memory", "go.uber.org/fx"}},
		{ImportPath: "wxbackend/adapters/redisstore", Imports: []string{"wxbackend/adapters/memory", "wxbackend/config/setting"}},
		{ImportPath: "wxbackend/internal/sim/miniprogram", Imports: []string{"wxbackend/internal/sim/sandbox", "wxbackend/adapters/httpapi/apiclient"}},
		{ImportPath: "wxbackend/internal/bench/loadgen", Imports: []string{"wxbackend/internal/sim/sandbox", "wxbackend/domain"}},
		{ImportPath: "wxbackend/cmd/wxsandbox", Imports: []string{"wxbackend/internal/sim/sandbox", "wxbackend/cmd/wxbackend/config"}},
		{ImportPath: "wxbackend/cmd/wxbackend/wiring", Imports: []string{"wxbackend/ports/portfake"}},
		{ImportPath: "wxbackend/config/setting", Imports: []string{"wxbackend/adapters/httpapi"}},
		{ImportPath: "wxbackend/adapters/wechat", Imports: []string{"wxbackend/internal/sim/sandbox"}},
		{ImportPath: "wxbackend/cmd/wxbackend/config", Imports: []string{"wxbackend/internal/bench/baseline"}},
	}
	got := strings.Join(violations(pkgs), "\n")
	for _, want := range []string{
		"domain imports github.com/jmoiron/sqlx",
		"ports imports wxbackend/app",
		"app imports wxbackend/adapters/memory",
		"app imports go.uber.org/fx",
		"redisstore imports wxbackend/adapters/memory",
		"wiring imports wxbackend/ports/portfake",
		"setting imports wxbackend/adapters/httpapi",
		"wechat imports wxbackend/internal/sim/sandbox",
		"config imports wxbackend/internal/bench/baseline",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("not caught: %s", want)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 9 {
		t.Errorf("%d violations, want 9:\n%s", n, got)
	}
}

// No binary carries test support, and the server's no development tool,
// however indirectly.
func TestArchitecture_ServerBinaryHasNoTestSupport(t *testing.T) {
	server := false
	for _, p := range listPackages(t) {
		if p.Name != "main" {
			continue
		}
		for _, d := range p.Deps {
			if slices.Contains(testSupport, own(d)) {
				t.Errorf("%s depends on test support %s", p.ImportPath, d)
			}
			if p.ImportPath == module+"/cmd/wxbackend" && isTool(own(d)) {
				t.Errorf("%s depends on the development tool %s", p.ImportPath, d)
			}
		}
		server = server || p.ImportPath == module+"/cmd/wxbackend"
	}
	if !server {
		t.Error("go list found no cmd/wxbackend")
	}
}

// The binary make build writes holds no sandbox: none of its symbols is
// of a development tool's package. The same look at wxsandbox's binary
// finds the sandbox, so the look can fail.
func TestArchitecture_ServerBinaryHoldsNoSandbox(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	symbols := func(main string) []string {
		t.Helper()
		bin := filepath.Join(dir, filepath.Base(main))
		build := exec.Command("go", "build", "-trimpath", "-o", bin, main)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", main, err, out)
		}
		out, err := exec.Command("go", "tool", "nm", bin).Output()
		if err != nil {
			t.Fatalf("go tool nm %s: %v", bin, err)
		}
		var found []string
		for _, line := range strings.Split(string(out), "\n") {
			for _, dir := range tools {
				if strings.Contains(line, " "+module+"/"+dir+"/") || strings.Contains(line, " "+module+"/"+dir+".") {
					found = append(found, strings.TrimSpace(line))
				}
			}
		}
		if !strings.Contains(string(out), " "+module+"/domain.") {
			t.Fatalf("go tool nm %s lists none of our symbols: is this the binary?", bin)
		}
		return found
	}
	if found := symbols("./cmd/wxbackend"); len(found) > 0 {
		t.Errorf("the server's binary holds %d symbols of development tools, e.g. %s", len(found), found[0])
	}
	if found := symbols("./cmd/wxsandbox"); !slices.ContainsFunc(found, func(s string) bool {
		return strings.Contains(s, module+"/internal/sim/sandbox.")
	}) {
		t.Error("wxsandbox's binary shows no symbol of internal/sim/sandbox: the look cannot see the sandbox")
	}
}
