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

// TestREADMEConfigTableListsEveryField holds the README's configuration
// table complete: every exported field of every package's Config struct
// must be named in the first cell of some row, as `pkg.Config.Field` or, in
// a row that starts with `pkg.Config.`, as `Field`.
func TestREADMEConfigTableListsEveryField(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	firstCells := map[string][]string{} // package -> first cells of rows that name it
	cell := regexp.MustCompile("(?m)^\\| (`[a-z]+\\.Config\\.[^|]*) \\|")
	pkgs := regexp.MustCompile("`([a-z]+)\\.Config\\.")
	for _, m := range cell.FindAllStringSubmatch(string(readme), -1) {
		for _, p := range pkgs.FindAllStringSubmatch(m[1], -1) {
			firstCells[p[1]] = append(firstCells[p[1]], m[1])
		}
	}
	for _, dir := range []string{"../session", "../jwtlocal", ".", "../authz", "../redisstore"} {
		pkg, fields := configFields(t, dir)
		for _, f := range fields {
			found := false
			for _, c := range firstCells[pkg] {
				if strings.Contains(c, "`"+pkg+".Config."+f+"`") || strings.Contains(c, "`"+f+"`") ||
					strings.Contains(c, "`"+pkg+".Config."+f+".") {
					found = true
				}
			}
			if !found {
				t.Errorf("README's configuration table has no row for %s.Config.%s", pkg, f)
			}
		}
	}
}

// configFields returns the package name and the exported field names of the
// Config struct declared in dir's non-test files.
func configFields(t *testing.T, dir string) (string, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var pkg string
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		pkg = f.Name.Name
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != "Config" {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, field := range st.Fields.List {
				for _, id := range field.Names {
					if id.IsExported() {
						out = append(out, id.Name)
					}
				}
			}
			return false
		})
	}
	if len(out) == 0 {
		t.Fatalf("no Config struct in %s", dir)
	}
	return pkg, out
}
