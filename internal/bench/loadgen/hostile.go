package loadgen

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/adapters/imaging/imagingtest"
	"wxbackend/internal/sim/sandbox"
)

// HostileConfig is one run of issue 23's memory goal: a server started as
// make soak starts it (MariaDB, Redis sessions, the sandbox in this
// process), Clients hostile clients of the kinds in Mix for D, and one
// honest user uploading a small avatar every second.
type HostileConfig struct {
	Server   string
	MySQL    string
	Redis    string
	Clients  int
	Mix      []mixPart     // kinds and their weights
	D        time.Duration // how long the hostile clients run
	SlowSize int           // bytes of a slow upload's image part
	Slow     pace          // how a slow upload sends them
	LogsDir  string
	Progress io.Writer // where the report goes
}

// Goals of issue 23 item 3.
const (
	maxHostileRSS     = 256 << 20       // the server's resident set, throughout
	maxHonestLatency  = 2 * time.Second // each honest upload's answer
	honestEvery       = time.Second
	maxHostilePerUser = 100_000 // requests per hostile client, whatever D
	hostileTimeout    = 30 * time.Second
)

// The kinds of hostile client.
const (
	kindSlow    = "slow"     // unauthenticated upload whose 2 MiB body is sent slowly
	kindJPEG    = "jpeg"     // progressive 4898×4898 4:4:4 JPEG, about 141 KB (360 MB decoded)
	kindPNG     = "png"      // 16-bit RGBA PNG of 4898×4898, just under the 24-megapixel limit (192 MB decoded)
	kindFitJPEG = "fit-jpeg" // progressive 2480×2480 4:4:4 JPEG, costed (95.6 MiB) just under the default decode budget's large lane (96 MiB)
	kindFitPNG  = "fit-png"  // 16-bit RGBA PNG of 3400×3400, costed (95.2 MiB) just under the default decode budget's large lane
)

// hostileKinds describes every kind, in report order.
var hostileKinds = []struct{ name, what string }{
	{kindSlow, "unauthenticated upload, 2 MiB image part sent slowly"},
	{kindJPEG, "progressive 4898×4898 4:4:4 JPEG bomb, 141 KB"},
	{kindPNG, "16-bit RGBA 4898×4898 PNG, 187 KB"},
	{kindFitJPEG, "progressive 2480×2480 4:4:4 JPEG, 36 KB, under the decode budget's large lane"},
	{kindFitPNG, "16-bit RGBA 3400×3400 PNG, 90 KB, under the decode budget's large lane"},
}

// mixPart is a kind of hostile client and its share of the clients.
type mixPart struct {
	Kind   string
	Weight int
}

// parseMix reads "slow:2,jpeg:1,png:1".
func parseMix(s string) ([]mixPart, error) {
	var mix []mixPart
	for _, f := range strings.Split(s, ",") {
		kind, w, _ := strings.Cut(strings.TrimSpace(f), ":")
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("-mix %q: want kind:weight, the weight a whole number", f)
		}
		if !slices.ContainsFunc(hostileKinds, func(k struct{ name, what string }) bool { return k.name == kind }) {
			return nil, fmt.Errorf("-mix: unknown kind %q (slow, jpeg, png, fit-jpeg, fit-png)", kind)
		}
		mix = append(mix, mixPart{kind, n})
	}
	return mix, nil
}

// assign gives each of n clients a kind, in proportion to the weights
// (largest remainders first, so the counts add up to n).
func assign(mix []mixPart, n int) []string {
	total := 0
	for _, m := range mix {
		total += m.Weight
	}
	if total == 0 {
		return nil
	}
	counts := make([]int, len(mix))
	rem := make([]int, len(mix))
	given := 0
	for i, m := range mix {
		counts[i] = n * m.Weight / total
		rem[i] = n * m.Weight % total
		given += counts[i]
	}
	order := make([]int, len(mix))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rem[b] - rem[a] })
	for i := 0; given < n; i++ {
		counts[order[i%len(order)]]++
		given++
	}
	var kinds []string
	for i, m := range mix {
		for range counts[i] {
			kinds = append(kinds, m.Kind)
		}
	}
	return kinds
}

func runHostile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen hostile", flag.ContinueOnError)
	var c HostileConfig
	fs.StringVar(&c.Server, "server", "bin/wxbackend", "the wxbackend binary")
	fs.StringVar(&c.MySQL, "mysql", env("WXB_TEST_MYSQL_DSN", "root@tcp(127.0.0.1:3306)/"), "MySQL/MariaDB DSN without a database")
	fs.StringVar(&c.Redis, "redis", env("WXB_TEST_REDIS_ADDR", "127.0.0.1:6379"), "Redis address")
	fs.IntVar(&c.Clients, "c", 200, "hostile clients")
	mix := fs.String("mix", "slow:2,jpeg:1,png:1", "kinds of hostile client and their weights: slow, jpeg, png, fit-jpeg, fit-png")
	fs.DurationVar(&c.D, "d", 60*time.Second, "how long the hostile clients run")
	fs.IntVar(&c.SlowSize, "slow-size", 2<<20, "bytes of a slow upload's image part")
	fs.IntVar(&c.Slow.Chunk, "slow-chunk", 16<<10, "bytes a slow upload sends at a time")
	fs.DurationVar(&c.Slow.Hold, "slow-hold", 8*time.Second, "how long a slow upload takes to send its body (the server's read timeout is 10s)")
	fs.StringVar(&c.LogsDir, "logs", "bin", "where the server's log goes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.Mix, err = parseMix(*mix); err != nil {
		return err
	}
	if c.Clients < 1 || c.D <= 0 || c.SlowSize < 1 || c.Slow.Chunk < 1 || c.Slow.Hold <= 0 {
		return fmt.Errorf("-c, -d, -slow-size, -slow-chunk and -slow-hold must be positive")
	}
	c.Progress = os.Stdout
	return Hostile(ctx, c)
}

// Hostile runs the measurement and prints its report; it returns an error
// when a goal is missed.
func Hostile(ctx context.Context, c HostileConfig) error {
	kinds := assign(c.Mix, c.Clients)
	bodies := map[string][]byte{
		kindJPEG:    imagingtest.JPEG(4898, 4898, true, imagingtest.S444, false),
		kindPNG:     imagingtest.PNG(4898, 4898, 16, 6),
		kindFitJPEG: imagingtest.JPEG(2480, 2480, true, imagingtest.S444, false),
		kindFitPNG:  imagingtest.PNG(3400, 3400, 16, 6),
	}
	honestImage, err := honestAvatar()
	if err != nil {
		return err
	}
	logPath := filepath.Join(c.LogsDir, "hostile-server.log")
	db := fmt.Sprintf("wxb_hostile_%d", time.Now().Unix())
	// Logins are unlimited so that one address can set up every hostile
	// session (an attacker has many addresses); every other setting is
	// the server's default.
	srv, err := startOnMariaRedis(ctx, stackConfig{Server: c.Server, MySQL: c.MySQL, Redis: c.Redis, DB: db,
		Log: logPath, Env: []string{"WXB_RATE_LOGIN_PER_MINUTE=0", "WXB_RATE_WECHAT_LOGINS_PER_SECOND=0"}})
	if err != nil {
		return err
	}
	defer func() { // nothing of the run is worth keeping but the server's log
		srv.stop()
		_ = dropMySQLDatabase(c.MySQL, db)
		_ = os.RemoveAll(filepath.Join(os.TempDir(), db))
		_ = clearRedis(context.WithoutCancel(ctx), c.Redis, "wxbsoak:"+db+":*")
	}()
	addr := strings.TrimPrefix(srv.base, "http://")
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("the server is not on loopback: %s", addr)
	}
	phone := sandbox.NewPhone(srv.sandbox, nil)
	api := apiclient.New(srv.base, newClient(c.Clients+1))
	login := func(user string) (string, error) {
		code, err := phone.Login(ctx, user)
		if err != nil {
			return "", err
		}
		l, _, err := api.Login(ctx, code)
		return l.Token, err
	}
	tokens := make([]string, len(kinds))
	for i, k := range kinds {
		if k == kindSlow {
			continue
		}
		if tokens[i], err = login(fmt.Sprintf("hostile-%d", i)); err != nil {
			return fmt.Errorf("log hostile client %d in: %w", i, err)
		}
	}
	honestToken, err := login("honest")
	if err != nil {
		return fmt.Errorf("log the honest user in: %w", err)
	}

	res := hostileResult{Clients: c.Clients, Kinds: kinds, D: c.D, PID: srv.pid, Answers: map[string]map[string]int{}}
	var mu sync.Mutex
	count := func(kind, answer string) {
		mu.Lock()
		defer mu.Unlock()
		if res.Answers[kind] == nil {
			res.Answers[kind] = map[string]int{}
		}
		res.Answers[kind][answer]++
	}
	fmt.Fprintf(os.Stderr, "hostile: %d clients (%s) for %v against pid %d; server log %s\n", c.Clients, mixSummary(kinds), c.D, srv.pid, logPath)
	runCtx, cancel := context.WithTimeout(ctx, c.D)
	defer cancel()
	begin := time.Now()

	sample := func() {
		rss, _ := procRSS(srv.pid)
		hwm, _ := procStatusBytes(srv.pid, "VmHWM:")
		mu.Lock()
		res.Samples = append(res.Samples, rssSample{At: time.Since(begin), RSS: rss, HWM: hwm})
		mu.Unlock()
	}
	sample()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the sampler
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	wg.Add(1)
	go func() { // the honest user
		defer wg.Done()
		tick := time.NewTicker(honestEvery)
		defer tick.Stop()
		for n := 0; n < int(c.D/honestEvery)+1; n++ {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			// Its own deadline, not the run's: an upload started is
			// measured to its end.
			upCtx, upCancel := context.WithTimeout(ctx, hostileTimeout)
			t0 := time.Now()
			_, resp, err := api.UploadAvatar(upCtx, honestToken, "me.jpg", honestImage)
			upCancel()
			u := honestUpload{At: t0.Sub(begin), Latency: time.Since(t0), Answer: answerOf(resp, err)}
			u.OK = err == nil && resp.Envelope.Code == 0
			mu.Lock()
			res.Honest = append(res.Honest, u)
			mu.Unlock()
		}
	}()
	for i, kind := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < maxHostilePerUser && runCtx.Err() == nil; n++ {
				if kind == kindSlow {
					answer, early, ok := slowUpload(runCtx, addr, c.SlowSize, c.Slow)
					if ok {
						if early {
							answer += ", before the body was sent"
						}
						count(kind, answer)
					}
					continue
				}
				reqCtx, reqCancel := context.WithTimeout(runCtx, hostileTimeout)
				_, resp, err := api.UploadAvatar(reqCtx, tokens[i], "bomb", bodies[kind])
				reqCancel()
				if runCtx.Err() == nil {
					count(kind, answerOf(resp, err))
				}
			}
		}()
	}
	wg.Wait()
	sample() // after every client has stopped
	res.Elapsed = time.Since(begin)
	res.PeakHWM, _ = procStatusBytes(srv.pid, "VmHWM:")

	fmt.Fprint(c.Progress, res.Report())
	if !res.Passed() {
		return fmt.Errorf("goal missed (server log %s)", logPath)
	}
	return nil
}

// answerOf names an API answer by status and code, or a transport failure.
func answerOf(resp apiclient.Response, err error) string {
	if err != nil && resp.HTTPStatus == 0 {
		return transportAnswer(err)
	}
	return fmt.Sprintf("HTTP %d, code %d", resp.HTTPStatus, resp.Envelope.Code)
}

// mixSummary counts kinds: "100 slow, 50 jpeg, 50 png".
func mixSummary(kinds []string) string {
	var parts []string
	for _, k := range hostileKinds {
		if n := countOf(kinds, k.name); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.name))
		}
	}
	return strings.Join(parts, ", ")
}

func countOf(kinds []string, kind string) int {
	n := 0
	for _, k := range kinds {
		if k == kind {
			n++
		}
	}
	return n
}

// honestAvatar is an ordinary small photo: a 480×480 baseline JPEG.
func honestAvatar() ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, 480, 480))
	for y := range 480 {
		for x := range 480 {
			img.Set(x, y, color.RGBA{uint8(x / 2), uint8(y / 2), uint8((x + y) / 4), 255})
		}
	}
	var b bytes.Buffer
	err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	return b.Bytes(), err
}
