package middleware_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestREADMECodeIsCompiled holds every Go block of the README equal to the
// body of an Example function of this package's tests, or of redisstore's
// or conformance's (modules of their own, which compile their examples in
// their own go test), which the Go tool compiles (and, where it has an
// Output comment, runs).
func TestREADMECodeIsCompiled(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bodies := exampleBodies(t)
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("the README has no Go blocks")
	}
	for _, b := range blocks {
		block := strings.TrimSpace(b[1])
		found := false
		for _, body := range bodies {
			if body == block {
				found = true
			}
		}
		if !found {
			t.Errorf("README block is not an Example body in middleware/, redisstore/ or conformance/:\n%s", block)
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
