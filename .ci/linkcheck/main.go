// Command linkcheck fails when a relative link in the given Markdown files
// does not resolve: a file that does not exist, or an anchor (#section) that
// no heading of the target makes. make lint runs it on README.md and docs/.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	link    = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile("(?m)^#{1,6}\\s+(.+?)\\s*$")
	fence   = regexp.MustCompile("(?s)```.*?```")
)

func main() {
	bad := 0
	for _, file := range os.Args[1:] {
		text, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		body := fence.ReplaceAllString(string(text), "")
		for _, m := range link.FindAllStringSubmatch(body, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(dest); err != nil {
					fmt.Printf("%s: link %q: %s does not exist\n", file, target, dest)
					bad++
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			if !hasAnchor(dest, anchor) {
				fmt.Printf("%s: link %q: no heading of %s makes #%s\n", file, target, dest, anchor)
				bad++
			}
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}

// hasAnchor reports whether a heading of file slugs to anchor, as GitHub
// makes anchors: lower case, spaces to hyphens, punctuation dropped.
func hasAnchor(file, anchor string) bool {
	text, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(string(text), ""), -1) {
		if slug(m[1]) == anchor {
			return true
		}
	}
	return false
}

func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}
