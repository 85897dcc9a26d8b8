// Command baseline serves the benchmarks' yardstick, the seed's two routes
// with no architecture (internal/bench/baseline), configured by BASELINE_…
// environment variables. It is for make bench only.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"wxbackend/internal/bench/baseline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := baseline.Serve(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}
