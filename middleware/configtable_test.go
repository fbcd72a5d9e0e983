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

// TestConfigTableListsEveryField holds docs/configuration.md's table
// complete: every exported field of every package's Config struct, and of
// the sub-structs it groups fields in (Config.Cookies.JWT), must be named
// in the first cell of some row, as `pkg.Config.Path.Field` or, in a row
// that starts with `pkg.Config.Path.`, as `Field`.
func TestConfigTableListsEveryField(t *testing.T) {
	readme, err := os.ReadFile("../docs/configuration.md")
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
			parent, leaf := "", f
			if i := strings.LastIndex(f, "."); i >= 0 {
				parent, leaf = f[:i+1], f[i+1:]
			}
			for _, c := range firstCells[pkg] {
				if strings.Contains(c, "`"+pkg+".Config."+f+"`") ||
					strings.HasPrefix(c, "`"+pkg+".Config."+parent) && strings.Contains(c, "`"+leaf+"`") {
					found = true
				}
			}
			if !found {
				t.Errorf("docs/configuration.md's table has no row for %s.Config.%s", pkg, f)
			}
		}
	}
}

// configFields returns the package name and the exported field paths of the
// Config struct declared in dir's non-test files: a field whose type is
// another struct of the package's (Cookies Cookies) is replaced by that
// struct's fields ("Cookies.JWT").
func configFields(t *testing.T, dir string) (string, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var pkg string
	structs := map[string]*ast.StructType{}
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
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					structs[ts.Name.Name] = st
				}
			}
			return true
		})
	}
	var out []string
	var walk func(prefix string, st *ast.StructType)
	walk = func(prefix string, st *ast.StructType) {
		for _, field := range st.Fields.List {
			for _, id := range field.Names {
				if !id.IsExported() {
					continue
				}
				if typ, ok := field.Type.(*ast.Ident); ok && structs[typ.Name] != nil && typ.Name != "Hooks" {
					walk(prefix+id.Name+".", structs[typ.Name])
					continue
				}
				out = append(out, prefix+id.Name)
			}
		}
	}
	if st := structs["Config"]; st != nil {
		walk("", st)
	}
	if len(out) == 0 {
		t.Fatalf("no Config struct in %s", dir)
	}
	return pkg, out
}
