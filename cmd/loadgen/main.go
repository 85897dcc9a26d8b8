// Command loadgen measures wxbackend under load (make bench, make soak, make hostile):
//
//	loadgen run|matrix|soak|hostile [flags]
//
// The work is in internal/bench/loadgen.
package main

import (
	"fmt"
	"os"

	"wxbackend/internal/bench/loadgen"
)

func main() {
	if err := loadgen.Main(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
