// Command apicount counts the exported API of the root module: exported
// top-level names (types, functions, variables, constants) and exported
// methods on exported types, per package. It skips tests, package main,
// the emulator (stytchtest) and internal packages.
//
// Usage, from the repository root: go run ./.ci/apicount [-v]
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	verbose := flag.Bool("v", false, "list every name")
	flag.Parse()
	counts := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && skipDir(path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		names, err := exported(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		counts[dir] = append(counts[dir], names...)
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicount:", err)
		os.Exit(1)
	}
	dirs := make([]string, 0, len(counts))
	total := 0
	for d, n := range counts {
		if len(n) == 0 {
			continue
		}
		dirs = append(dirs, d)
		total += len(n)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		fmt.Printf("%5d  %s\n", len(counts[d]), d)
		if *verbose {
			sort.Strings(counts[d])
			for _, n := range counts[d] {
				fmt.Printf("         %s\n", n)
			}
		}
	}
	fmt.Printf("%5d  exported names in the root module (without stytchtest and internal)\n", total)
}

// skipDir reports whether a directory is outside the count: hidden ones,
// testdata, internal, the emulator, commands and the other modules.
func skipDir(path string) bool {
	base := filepath.Base(path)
	if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || base == "testdata" || base == "internal" {
		return true
	}
	switch path {
	case "stytchtest", "cmd":
		return true
	}
	_, err := os.Stat(filepath.Join(path, "go.mod"))
	return err == nil
}

// exported lists the exported names a file declares, methods as Type.Method.
func exported(path string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if f.Name.Name == "main" {
		return nil, nil
	}
	var names []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				names = append(names, d.Name.Name)
				continue
			}
			if recv := receiver(d.Recv.List[0].Type); ast.IsExported(recv) {
				names = append(names, recv+"."+d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						names = append(names, s.Name.Name)
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							names = append(names, n.Name)
						}
					}
				}
			}
		}
	}
	return names, nil
}

// receiver names a method's receiver type, without pointer or type parameters.
func receiver(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}
