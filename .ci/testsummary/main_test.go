package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stream is go test -json output, one event a line, as go1.26 writes it
// for the cases below (recorded, times dropped).
const stream = `{"ImportPath":"x/a [x/a.test]","Action":"build-output","Output":"# x/a [x/a.test]\n"}
{"ImportPath":"x/a [x/a.test]","Action":"build-output","Output":"a/a.go:2:12: undefined: x\n"}
{"ImportPath":"x/a [x/a.test]","Action":"build-fail"}
{"Action":"start","Package":"x/a"}
{"Action":"output","Package":"x/a","Output":"FAIL\tx/a [build failed]\n"}
{"Action":"fail","Package":"x/a","Elapsed":0,"FailedBuild":"x/a [x/a.test]"}
{"Action":"start","Package":"x/b"}
{"Action":"run","Package":"x/b","Test":"TestB"}
{"Action":"output","Package":"x/b","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"run","Package":"x/b","Test":"TestB/s"}
{"Action":"output","Package":"x/b","Test":"TestB/s","Output":"=== RUN   TestB/s\n"}
{"Action":"output","Package":"x/b","Test":"TestB/s","Output":"    b_test.go:3: boom\n"}
{"Action":"output","Package":"x/b","Test":"TestB/s","Output":"    b_test.go:4: and more\n"}
{"Action":"output","Package":"x/b","Test":"TestB/s","Output":"--- FAIL: TestB/s (0.00s)\n"}
{"Action":"fail","Package":"x/b","Test":"TestB/s","Elapsed":0}
{"Action":"run","Package":"x/b","Test":"TestB/k"}
{"Action":"output","Package":"x/b","Test":"TestB/k","Output":"    b_test.go:3: SKIPPED the browser story: no Chromium\n"}
{"Action":"skip","Package":"x/b","Test":"TestB/k","Elapsed":0}
{"Action":"output","Package":"x/b","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"x/b","Test":"TestB","Elapsed":0}
{"Action":"run","Package":"x/b","Test":"TestOK"}
{"Action":"pass","Package":"x/b","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"x/b","Test":"TestSkip"}
{"Action":"skip","Package":"x/b","Test":"TestSkip","Elapsed":0}
{"Action":"run","Package":"x/b","Test":"TestC"}
{"Action":"output","Package":"x/b","Test":"TestC","Output":"panic: test timed out after 2s\n"}
{"Action":"output","Package":"x/b","Output":"FAIL\tx/b\t2.147s\n"}
{"Action":"fail","Package":"x/b","Elapsed":2.149}
{"Action":"start","Package":"x/c"}
{"Action":"run","Package":"x/c","Test":"TestC1"}
{"Action":"pass","Package":"x/c","Test":"TestC1","Elapsed":0}
{"Action":"run","Package":"x/c","Test":"ExampleC"}
{"Action":"pass","Package":"x/c","Test":"ExampleC","Elapsed":0}
{"Action":"output","Package":"x/c","Output":"ok  \tx/c\t0.01s\n"}
{"Action":"pass","Package":"x/c","Elapsed":0.01}
`

func TestSummarize(t *testing.T) {
	var out strings.Builder
	got := summarize(strings.NewReader(stream), &out)
	want := tally{
		Passed:  3, // TestOK, TestC1, ExampleC
		Failed:  3, // x/a's build, TestB, TestC (timed out)
		Skipped: 1, // TestSkip
		Failures: []string{
			"x/a [build failed]",
			"x/b TestB/s: b_test.go:3: boom",
			"x/b TestC (did not finish: a timeout or a panic, see its output above)",
		},
		Skips: []string{"x/b: TestB/k: SKIPPED the browser story: no Chromium"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarize:\n got %+v\nwant %+v", got, want)
	}
	for _, line := range []string{"a/a.go:2:12: undefined: x", "b_test.go:3: boom", "--- FAIL: TestB (0.00s)", "FAIL\tx/b\t2.147s", "ok  \tx/c\t0.01s"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("the output lacks %q:\n%s", line, out.String())
		}
	}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		name    string
		tallies []tally
		ok      bool
		want    []string // lines, in order, at the end of the output
	}{
		{"all passed", []tally{{Module: ".", Passed: 5}, {Module: "examples", Passed: 2, Skipped: 1}}, true,
			[]string{"7 passed, 0 failed, 1 skipped"}},
		{"failures are listed above the verdict, skips below", []tally{
			{Module: ".", Passed: 5, Failed: 1, Failures: []string{"x/b TestB/s: b_test.go:3: boom"}},
			{Module: "examples", Passed: 2, Skips: []string{"x/e: TestBrowser: SKIPPED the browser story: no Chromium"}},
		}, false, []string{
			"FAILED (1):",
			"  x/b TestB/s: b_test.go:3: boom",
			"7 passed, 1 failed, 0 skipped",
			"",
			"################################################################",
			"# 1 suite(s) did NOT run:",
			"#   x/e: TestBrowser: SKIPPED the browser story: no Chromium",
			"################################################################",
		}},
		{"a module whose go test failed without a failed test", []tally{
			{Module: ".", Passed: 5}, {Module: "redisstore", Exited: 1},
		}, false, []string{
			"FAILED (1):",
			"  module redisstore: go test exited 1 without a failed test (see its output above)",
			"5 passed, 1 failed, 0 skipped",
		}},
		{"a module whose failed tests explain its exit code", []tally{
			{Module: ".", Passed: 5, Failed: 1, Failures: []string{"x TestX"}}, {Module: ".", Exited: 1},
		}, false, []string{
			"FAILED (1):",
			"  x TestX",
			"5 passed, 1 failed, 0 skipped",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tally")
			for _, x := range tt.tallies {
				if err := appendTally(path, x); err != nil {
					t.Fatal(err)
				}
			}
			var out strings.Builder
			ok, err := printVerdict(path, &out)
			if err != nil || ok != tt.ok {
				t.Fatalf("printVerdict: %v %v, want %v", ok, err, tt.ok)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) < len(tt.want) || !reflect.DeepEqual(lines[len(lines)-len(tt.want):], tt.want) {
				t.Fatalf("the verdict ends:\n%s\nwant it to end:\n%s", out.String(), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestVerdictOfAMissingFile(t *testing.T) {
	if _, err := printVerdict(filepath.Join(t.TempDir(), "none"), &strings.Builder{}); !os.IsNotExist(err) {
		t.Fatalf("printVerdict of no file: %v", err)
	}
}
