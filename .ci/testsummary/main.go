// Command testsummary reads `go test -json` from stdin and prints what
// `go test` would (a line per package, the output of each failed test), and
// then, loudly, every test that skipped itself with a message starting
// "SKIPPED": the suites that need Chromium or redis-server say so when
// either is missing, so that a green run without them does not pass for a
// full one. It exits 1 when a test or a package failed.
//
// Usage: go test -json ./... | go run ./.ci/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	failed, skipped := summarize(os.Stdin, os.Stdout)
	if len(skipped) > 0 {
		fmt.Println()
		fmt.Println("################################################################")
		fmt.Printf("# %d suite(s) did NOT run:\n", len(skipped))
		for _, s := range skipped {
			fmt.Println("#   " + s)
		}
		fmt.Println("################################################################")
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the package results and the failed tests' output to out,
// and returns whether anything failed and the loud skips.
func summarize(in *os.File, out *os.File) (bool, []string) {
	outputs := map[string][]string{} // package/test -> output lines
	var failed bool
	skips := map[string]bool{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(out, sc.Text()) // a build error, say: as it came
			failed = true
			continue
		}
		key := e.Package + "/" + e.Test
		switch e.Action {
		case "output":
			outputs[key] = append(outputs[key], e.Output)
			if e.Test != "" && strings.Contains(e.Output, "SKIPPED") {
				msg := strings.TrimSpace(e.Output[strings.Index(e.Output, "SKIPPED"):])
				skips[e.Package+": "+e.Test+": "+msg] = true
			}
		case "fail":
			failed = true
			fmt.Fprint(out, strings.Join(outputs[key], ""))
		case "pass", "skip":
			if e.Test == "" {
				if last := lastLine(outputs[key]); last != "" {
					fmt.Fprintln(out, last)
				}
			}
		}
		if e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
			delete(outputs, key)
		}
	}
	var list []string
	for s := range skips {
		list = append(list, s)
	}
	sort.Strings(list)
	return failed, list
}

// lastLine returns the package's result line ("ok  pkg 1.2s").
func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "?") {
			return l
		}
	}
	return ""
}
