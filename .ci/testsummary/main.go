// Command testsummary reads `go test -json` from stdin and prints what
// `go test` would (a line per package, the output of each failed test,
// compiler errors), and then, loudly, every test that skipped itself with a
// message starting "SKIPPED": the suites that need Chromium or
// redis-server say so when either is missing, so that a green run without
// them does not pass for a full one. It exits 1 when a test or a package
// failed.
//
// With -tally FILE it appends what it counted to FILE instead of printing
// the skips, so that one run over several modules ends with one verdict:
// -verdict FILE prints the failed tests by name, the line
// "N passed, N failed, N skipped", and the suites that did not run, and
// exits 1 when anything failed. A test is a top-level test of a package
// (Test, Example or Fuzz function; its subtests are part of it); a
// package that fails without a failed test (a build error, a panic in
// TestMain) counts as one failed test, and so does a module whose
// `go test` failed without any (-module NAME -exited CODE records that).
//
// Usage:
//
//	go test -json ./... | go run ./.ci/testsummary
//	go test -json ./... | testsummary -tally FILE -module NAME
//	testsummary -tally FILE -module NAME -exited CODE < /dev/null
//	testsummary -verdict FILE
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json), or of the build
// output it interleaves (ImportPath set, Action "build-output" or
// "build-fail").
type event struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

// tally is what one run of testsummary counted: one line of a -tally file.
type tally struct {
	Module   string   `json:"module"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	Skipped  int      `json:"skipped"`
	Failures []string `json:"failures,omitempty"` // "pkg TestX/sub: first message"
	Skips    []string `json:"skips,omitempty"`    // the loud SKIPPED ones
	// Exited is go test's exit code, when -exited recorded it.
	Exited int `json:"exited,omitempty"`
}

func main() {
	tallyFile := flag.String("tally", "", "append the counts to this file instead of printing the skips")
	module := flag.String("module", "", "the module the input is from, for -tally")
	exited := flag.Int("exited", 0, "record go test's exit code for -module (stdin is not read)")
	verdict := flag.String("verdict", "", "print the verdict of the tallies in this file")
	flag.Parse()

	if *verdict != "" {
		ok, err := printVerdict(*verdict, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(2)
		}
		if !ok {
			os.Exit(1)
		}
		return
	}
	var t tally
	if *exited == 0 {
		t = summarize(os.Stdin, os.Stdout)
	}
	t.Module, t.Exited = *module, *exited
	if *tallyFile != "" {
		if err := appendTally(*tallyFile, t); err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(2)
		}
	} else if len(t.Skips) > 0 {
		printSkips(os.Stdout, t.Skips)
	}
	if t.Failed > 0 {
		os.Exit(1)
	}
}

// located matches the line a failing t.Error or t.Fatal prints.
var located = regexp.MustCompile(`^\s+[\w./-]+\.go:\d+: `)

// pkgState is what summarize holds about one package while its events
// come.
type pkgState struct {
	running  map[string]bool   // started, not ended
	failed   map[string]bool   // tests (and subtests) that failed
	firstMsg map[string]string // test -> its first located output line
}

// summarize copies the package results, the failed tests' output and
// compiler errors to out, and returns what it counted.
func summarize(in io.Reader, out io.Writer) tally {
	var t tally
	outputs := map[string][]string{} // package/test -> output lines
	build := map[string][]string{}   // import path -> build output
	pkgs := map[string]*pkgState{}
	state := func(p string) *pkgState {
		if pkgs[p] == nil {
			pkgs[p] = &pkgState{running: map[string]bool{}, failed: map[string]bool{}, firstMsg: map[string]string{}}
		}
		return pkgs[p]
	}
	skips := map[string]bool{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || (e.Action == "" && e.ImportPath == "") {
			fmt.Fprintln(out, sc.Text()) // go's own error, say: as it came
			t.Failed++
			t.Failures = append(t.Failures, "go test: "+strings.TrimSpace(sc.Text()))
			continue
		}
		switch e.Action {
		case "build-output":
			build[e.ImportPath] = append(build[e.ImportPath], e.Output)
			continue
		case "build-fail":
			fmt.Fprint(out, strings.Join(build[e.ImportPath], ""))
			continue
		}
		key := e.Package + "/" + e.Test
		s := state(e.Package)
		switch e.Action {
		case "run":
			s.running[e.Test] = true
		case "output":
			outputs[key] = append(outputs[key], e.Output)
			if e.Test != "" {
				if strings.Contains(e.Output, "SKIPPED") {
					msg := strings.TrimSpace(e.Output[strings.Index(e.Output, "SKIPPED"):])
					skips[e.Package+": "+e.Test+": "+msg] = true
				}
				if _, ok := s.firstMsg[e.Test]; !ok && located.MatchString(e.Output) {
					s.firstMsg[e.Test] = strings.TrimSpace(e.Output)
				}
			}
		case "fail":
			fmt.Fprint(out, strings.Join(outputs[key], ""))
		case "pass", "skip":
			if e.Test == "" {
				if last := lastLine(outputs[key]); last != "" {
					fmt.Fprintln(out, last)
				}
			}
		}
		if e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
			delete(s.running, e.Test)
			if e.Action == "fail" {
				s.failed[e.Test] = true
			}
			if !strings.Contains(e.Test, "/") {
				switch e.Action {
				case "pass":
					t.Passed++
				case "fail":
					t.Failed++
				case "skip":
					t.Skipped++
				}
			}
		}
		if e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
			t.Failures = append(t.Failures, s.failures(e)...)
			// A top-level test still running when its package ended (a
			// timeout, a panic) failed, though no event says so.
			for name := range s.running {
				if !strings.Contains(name, "/") {
					t.Failed++
				}
			}
			if e.Action == "fail" && len(s.failed) == 0 && len(s.running) == 0 {
				t.Failed++ // a build error, a panic outside any test
			}
			for k := range outputs {
				if strings.HasPrefix(k, e.Package+"/") {
					delete(outputs, k)
				}
			}
			delete(pkgs, e.Package)
		}
	}
	for s := range skips {
		t.Skips = append(t.Skips, s)
	}
	sort.Strings(t.Skips)
	return t
}

// failures names the failed tests of a package that just ended (e), each
// with its first message: the deepest of each failed line of subtests, the
// tests still running when it ended, or the package itself when it failed
// without a test failing.
func (s *pkgState) failures(e event) []string {
	var out []string
	name := func(test, why string) string {
		n := e.Package + " " + test
		if m := s.firstMsg[test]; m != "" {
			return n + ": " + m
		}
		return n + why
	}
	for test := range s.failed {
		leaf := true
		for other := range s.failed {
			if strings.HasPrefix(other, test+"/") {
				leaf = false
				break
			}
		}
		if leaf {
			out = append(out, name(test, ""))
		}
	}
	for test := range s.running {
		deepest := true
		for other := range s.running {
			if strings.HasPrefix(other, test+"/") {
				deepest = false
				break
			}
		}
		if deepest {
			out = append(out, name(test, " (did not finish: a timeout or a panic, see its output above)"))
		}
	}
	if e.Action == "fail" && len(out) == 0 {
		why := " (failed outside any test: see its output above)"
		if e.FailedBuild != "" {
			why = " [build failed]"
		}
		out = append(out, e.Package+why)
	}
	sort.Strings(out)
	return out
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

// appendTally adds t as one JSON line to the file at path.
func appendTally(path string, t tally) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

// printVerdict prints the failed tests of every tally in the file at path,
// the verdict line and the suites that did not run, and reports whether
// nothing failed.
func printVerdict(path string, out io.Writer) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var sum tally
	failedIn := map[string]bool{}
	exited := map[string]int{}
	for line := range strings.Lines(string(b)) {
		var t tally
		if err := json.Unmarshal([]byte(line), &t); err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
		if t.Exited != 0 {
			exited[t.Module] = t.Exited
			continue
		}
		sum.Passed += t.Passed
		sum.Failed += t.Failed
		sum.Skipped += t.Skipped
		sum.Failures = append(sum.Failures, t.Failures...)
		sum.Skips = append(sum.Skips, t.Skips...)
		if t.Failed > 0 {
			failedIn[t.Module] = true
		}
	}
	// A module whose go test failed with no test to show for it (go.mod
	// broken, a flag it refused): one failure, named by the module.
	mods := make([]string, 0, len(exited))
	for m := range exited {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		if !failedIn[m] {
			sum.Failed++
			sum.Failures = append(sum.Failures, fmt.Sprintf("module %s: go test exited %d without a failed test (see its output above)", m, exited[m]))
		}
	}
	fmt.Fprintln(out)
	if len(sum.Failures) > 0 {
		fmt.Fprintf(out, "FAILED (%d):\n", len(sum.Failures))
		for _, f := range sum.Failures {
			fmt.Fprintln(out, "  "+f)
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n", sum.Passed, sum.Failed, sum.Skipped)
	if len(sum.Skips) > 0 {
		slices.Sort(sum.Skips)
		printSkips(out, sum.Skips)
	}
	return sum.Failed == 0, nil
}

// printSkips prints, loudly, the suites that skipped themselves.
func printSkips(out io.Writer, skips []string) {
	fmt.Fprintln(out)
	fmt.Fprintln(out, "################################################################")
	fmt.Fprintf(out, "# %d suite(s) did NOT run:\n", len(skips))
	for _, s := range skips {
		fmt.Fprintln(out, "#   "+s)
	}
	fmt.Fprintln(out, "################################################################")
}
