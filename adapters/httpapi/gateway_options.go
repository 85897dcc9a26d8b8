package httpapi

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"wxbackend/config/setting"
)

// GatewayOptions configure the built-in gateway: the services behind
// wxbackend that a mini-program reaches under a path prefix, authenticated
// by its token and told who calls by the identity headers. They are listed
// in a TOML file:
//
//	[[upstream]]
//	name = "shop"                   # for metrics and logs
//	prefix = "/app/"                # the paths it serves, as clients call them
//	url = "http://127.0.0.1:9000"   # where they are forwarded
//	strip_prefix = true             # /app/orders reaches the upstream as /orders
//	public = ["/app/health", "/app/static/"]  # no token needed, no identity sent
//	timeout = "30s"                 # for the upstream to start answering
//	stream_timeout = "10m"          # for a whole exchange: a stream, a WebSocket
//	max_body = 10485760             # largest request body in bytes
type GatewayOptions struct {
	File string `setting:"gateway-file" usage:"a TOML file of the services the built-in gateway forwards to ([[upstream]] name, prefix, url, strip_prefix, public, timeout, stream_timeout, max_body); empty: no gateway"`

	upstreams []Upstream // read from File by Check
}

// Upstream is one service behind the gateway.
type Upstream struct {
	// Name labels the upstream's metrics and log lines.
	Name string `toml:"name"`
	// Prefix is the path under which clients reach it: it starts and ends
	// with "/".
	Prefix string `toml:"prefix"`
	// URL is where its requests go (http or https, with an optional base
	// path the request's path is appended to).
	URL string `toml:"url"`
	// StripPrefix removes Prefix (but its last "/") from the path the
	// upstream sees.
	StripPrefix bool `toml:"strip_prefix"`
	// Public are the paths (as clients call them) served without a token,
	// forwarded without identity headers; one ending in "/" covers every
	// path under it.
	Public []string `toml:"public"`
	// Timeout bounds the wait for the upstream's answer to start (its
	// status and headers); then code 8, HTTP 504.
	Timeout Duration `toml:"timeout"`
	// StreamTimeout bounds a whole exchange, body up and answer down: a
	// stream of server-sent events or a WebSocket is cut after it. It
	// replaces the server's read and write timeouts for gateway requests.
	StreamTimeout Duration `toml:"stream_timeout"`
	// MaxBody caps a request body; larger ones get code 11 (413) and are
	// not forwarded.
	MaxBody int64 `toml:"max_body"`
}

// Duration is a time.Duration read from TOML text ("30s").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

// An upstream's defaults, when its file leaves them out.
const (
	defaultGatewayTimeout       = 30 * time.Second
	defaultGatewayStreamTimeout = 10 * time.Minute
	defaultGatewayMaxBody       = 10 << 20
)

// reservedPrefixes are the paths of the contract's routes, and of those
// the next issues put on the public listener: no gateway prefix may shadow
// them.
var reservedPrefixes = []string{"/api/", "/login", "/getinfo", "/media/", "/healthz", "/readyz", "/openapi.json", "/wechat/", "/auth/"}

var upstreamName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Upstreams returns the upstreams read from the file (nil without one).
func (o GatewayOptions) Upstreams() []Upstream { return o.upstreams }

// Check implements setting.Checker: it reads and checks the file.
func (o *GatewayOptions) Check(p *setting.Problems) {
	if o.File == "" {
		return
	}
	list, errs := readUpstreams(o.File)
	if len(errs) > 0 {
		p.Add(&o.File, "%v", errors.Join(errs...))
		return
	}
	o.upstreams = list
}

// readUpstreams reads and checks a gateway file, filling in defaults. Every
// problem names the file, the upstream and the key.
func readUpstreams(file string) ([]Upstream, []error) {
	var doc struct {
		Upstream []Upstream `toml:"upstream"`
	}
	md, err := toml.DecodeFile(file, &doc)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", file, err)}
	}
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("%s: unknown key %q (an upstream has name, prefix, url, strip_prefix, public, timeout, stream_timeout, max_body)", file, k.String()))
	}
	if len(doc.Upstream) == 0 {
		errs = append(errs, fmt.Errorf("%s: no [[upstream]]", file))
	}
	for i := range doc.Upstream {
		u := &doc.Upstream[i]
		u.fillDefaults()
		for _, err := range u.check() {
			errs = append(errs, fmt.Errorf("%s: upstream[%d].%w", file, i+1, err))
		}
	}
	for _, err := range checkOverlaps(doc.Upstream) {
		errs = append(errs, fmt.Errorf("%s: %w", file, err))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return doc.Upstream, nil
}

func (u *Upstream) fillDefaults() {
	if u.Timeout.Duration == 0 {
		u.Timeout.Duration = defaultGatewayTimeout
	}
	if u.StreamTimeout.Duration == 0 {
		u.StreamTimeout.Duration = defaultGatewayStreamTimeout
	}
	if u.MaxBody == 0 {
		u.MaxBody = defaultGatewayMaxBody
	}
}

// check returns the upstream's problems, each starting with its key.
func (u *Upstream) check() []error {
	var errs []error
	bad := func(key, format string, a ...any) { errs = append(errs, fmt.Errorf(key+": "+format, a...)) }
	if !upstreamName.MatchString(u.Name) {
		bad("name", "%q is not 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit", u.Name)
	}
	if err := checkPrefix(u.Prefix); err != nil {
		bad("prefix", "%v", err)
	}
	if t, err := url.Parse(u.URL); err != nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" ||
		t.User != nil || t.RawQuery != "" || t.Fragment != "" {
		bad("url", "%q is not an http(s) URL without credentials, query or fragment", u.URL)
	}
	for _, p := range u.Public {
		if !strings.HasPrefix(p, u.Prefix) || !isCleanPath(p) {
			bad("public", "%q is not a clean path under the prefix %q", p, u.Prefix)
		}
	}
	if u.Timeout.Duration < 0 {
		bad("timeout", "must be positive")
	}
	if u.StreamTimeout.Duration < u.Timeout.Duration {
		bad("stream_timeout", "must be at least the timeout (%v)", u.Timeout.Duration)
	}
	if u.MaxBody < 0 {
		bad("max_body", "must be positive")
	}
	return errs
}

// checkPrefix refuses a prefix that is not a clean path ending in "/", or
// that shadows the contract's routes.
func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || p == "/" || !isCleanPath(p) ||
		strings.ContainsAny(p, "{}*") {
		return fmt.Errorf("%q is not a path like /app/ (clean, starting and ending with /, no {} or *)", p)
	}
	for _, r := range reservedPrefixes {
		if strings.HasPrefix(p, r) || strings.HasPrefix(r, p) {
			return fmt.Errorf("%q shadows the contract's %s", p, r)
		}
	}
	return nil
}

// checkOverlaps refuses two upstreams of one name, or one prefix under
// another's: which of them serves a path would be a guess.
func checkOverlaps(list []Upstream) []error {
	var errs []error
	for i := range list {
		for j := range i {
			a, b := list[j], list[i]
			if a.Name == b.Name {
				errs = append(errs, fmt.Errorf("upstream[%d].name: %q is upstream[%d]'s too", i+1, b.Name, j+1))
			}
			if strings.HasPrefix(a.Prefix, b.Prefix) || strings.HasPrefix(b.Prefix, a.Prefix) {
				errs = append(errs, fmt.Errorf("upstream[%d].prefix: %q overlaps upstream[%d]'s %q", i+1, b.Prefix, j+1, a.Prefix))
			}
		}
	}
	return errs
}

// isCleanPath reports whether p is its own path.Clean (a trailing "/"
// kept): no "//", "." or ".." segments an upstream could read otherwise
// than this server.
func isCleanPath(p string) bool {
	c := path.Clean(p)
	return c == p || c+"/" == p
}
