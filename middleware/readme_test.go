package middleware_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestREADMECodeIsCompiled holds every Go block of the README and of docs/
// equal to the body of an Example function of this package's tests, or of
// redisstore's or conformance's (modules of their own, which compile their
// examples in their own go test), or to a whole quickstart file
// (examples/quickstart, which a test builds and runs against the
// emulator): code the Go tool compiles, and runs.
func TestREADMECodeIsCompiled(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	known := exampleBodies(t)
	quickstarts, err := filepath.Glob("../examples/quickstart/*/main.go")
	if err != nil || len(quickstarts) == 0 {
		t.Fatalf("no quickstart files: %v", err)
	}
	for _, q := range quickstarts {
		src, err := os.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		known = append(known, strings.TrimSpace(string(src)))
	}
	for _, name := range append([]string{"../README.md"}, docs...) {
		text, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		blocks := goBlock.FindAllStringSubmatch(string(text), -1)
		if name == "../README.md" && len(blocks) == 0 {
			t.Fatal("the README has no Go blocks")
		}
		for _, b := range blocks {
			if block := strings.TrimSpace(b[1]); !slices.Contains(known, block) {
				t.Errorf("%s: a Go block is neither an Example body (middleware/, redisstore/, conformance/) nor a quickstart file:\n%s", name, block)
			}
		}
	}
}

// exampleBodies returns the bodies of the Example functions in this
// directory's, redisstore's and conformance's example and chi test files,
// without their braces and one level of indentation.
func exampleBodies(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	var out []string
	var names []string
	for _, dir := range []string{".", "../redisstore", "../conformance"} {
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f.Name(), "example_test.go") || f.Name() == "chi_test.go" {
				names = append(names, filepath.Join(dir, f.Name()))
			}
		}
	}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(fn.Name.Name, "Example") {
				continue
			}
			body := string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
			var lines []string
			for _, l := range strings.Split(strings.Trim(body, "\n"), "\n") {
				lines = append(lines, strings.TrimPrefix(l, "\t"))
			}
			out = append(out, strings.TrimSpace(strings.Join(lines, "\n")))
		}
	}
	return out
}
