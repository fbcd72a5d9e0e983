package middleware_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
)

// guardConstructors lists every guard the library builds, by the package
// and name of its constructor: TestGuardContract covers each, and
// TestGuardTableIsComplete checks the list against the source.
var guardConstructors = []string{
	"authz.Authorizer.Require",
	"authz.Authorizer.RequireAny",
	"authz.Authorizer.RequireIn",
	"authz.RequireOrganization",
	"middleware.Middleware.Require",
	"middleware.Middleware.RequireFactor",
	"middleware.Middleware.RequireMachine",
	"middleware.Middleware.RequireMachineAny",
	"middleware.Middleware.RequireSessionOrMachine",
	"middleware.Resource.Require",
}

// notGuards are constructors of the same shape that guard nothing, and why.
var notGuards = map[string]string{
	"middleware.Middleware.Authenticate": "lets anonymous requests through by design: the guards after it decide",
	"middleware.Resource.Authenticate":   "Middleware.Authenticate that also takes the resource's access tokens: lets anonymous requests through by design",
}

// TestGuardContract: the next handler of every guard runs only with a
// principal in the request's context. A CORS preflight, which carries no
// credential, is answered by the guard itself (204, no body) unless
// CrossOrigin.PassPreflights; so is it behind a guard that passed it on.
// Requests without a credential, or with one that proves nothing, never
// reach next.
func TestGuardContract(t *testing.T) {
	for _, pass := range []bool{false, true} {
		a := newApp(t, func(c *middleware.Config) { c.CrossOrigin.PassPreflights = pass })
		b := newLineApp(t, true, func(c *middleware.Config) { c.CrossOrigin.PassPreflights = pass })
		consumerRBAC, err := authz.New(authz.Config{Client: a.srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(consumerRBAC.Close)
		b2bRBAC, err := authz.New(authz.Config{Client: b.srv.B2BClient()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b2bRBAC.Close)
		res, err := a.mw.Resource(middleware.ProtectedResource{URL: "https://notes.example.com/mcp"})
		if err != nil {
			t.Fatal(err)
		}
		org := authz.PathValue("org")
		sms := middleware.Factor{Type: "otp", DeliveryMethod: "sms"}
		perm := authz.Permission{ResourceID: "documents", Action: "read"}
		// The authz guards read what the middleware put in the context:
		// they sit behind its Authenticate.
		behind := func(mw *middleware.Middleware, guard func(http.Handler) http.Handler) func(http.Handler) http.Handler {
			return func(next http.Handler) http.Handler { return mw.Authenticate(guard(next)) }
		}
		guards := map[string]func(http.Handler) http.Handler{
			"authz.Authorizer.Require":                      behind(a.mw, consumerRBAC.Require("documents", "read")),
			"authz.Authorizer.RequireAny":                   behind(a.mw, consumerRBAC.RequireAny(perm)),
			"authz.Authorizer.RequireIn":                    behind(b.mw, b2bRBAC.RequireIn(org, perm)),
			"authz.RequireOrganization":                     behind(b.mw, authz.RequireOrganization(org)),
			"middleware.Middleware.Require":                 a.mw.Require,
			"middleware.Middleware.RequireFactor":           a.mw.RequireFactor(time.Hour, sms),
			"middleware.Middleware.RequireMachine":          a.mw.RequireMachine("read:reports"),
			"middleware.Middleware.RequireMachineAny":       a.mw.RequireMachineAny("read:reports"),
			"middleware.Middleware.RequireSessionOrMachine": a.mw.RequireSessionOrMachine("read:reports"),
			"middleware.Resource.Require":                   res.Require("notes:read"),
		}
		for _, name := range guardConstructors {
			guard := guards[name]
			if guard == nil {
				t.Fatalf("%s: no guard built for it", name)
			}
			requests := []struct {
				name string
				r    func() *http.Request
			}{
				{"preflight", func() *http.Request {
					r := req("OPTIONS", "/orgs/org-1/documents", "header:Origin:https://app.example.com", "header:Access-Control-Request-Method:POST")
					r.SetPathValue("org", "org-1")
					return r
				}},
				{"preflight with headers asked for", func() *http.Request {
					return req("OPTIONS", "/", "header:Access-Control-Request-Method:DELETE", "header:Access-Control-Request-Headers:authorization")
				}},
				{"no credential", func() *http.Request { return req("GET", "/") }},
				{"OPTIONS, not a preflight", func() *http.Request { return req("OPTIONS", "/") }},
				{"garbage Bearer", func() *http.Request { return req("DELETE", "/", "bearer:a.b.c") }},
				{"garbage cookie", func() *http.Request { return req("POST", "/", "jwt:x.y.z", "header:Sec-Fetch-Site:same-origin") }},
			}
			for _, rq := range requests {
				t.Run(name+"/"+rq.name+"/pass="+boolString(pass), func(t *testing.T) {
					var ran, withPrincipal bool
					next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						ran, withPrincipal = true, hasPrincipal(r)
					})
					rec := httptest.NewRecorder()
					guard(next).ServeHTTP(rec, rq.r())
					preflight := strings.HasPrefix(rq.name, "preflight")
					switch {
					case ran && !withPrincipal && !(preflight && pass):
						t.Fatalf("next ran without a principal: %d %s", rec.Code, rec.Body)
					case preflight && !pass && (rec.Code != http.StatusNoContent || rec.Body.Len() != 0):
						t.Fatalf("preflight: %d %q, want 204 and no body", rec.Code, rec.Body)
					case preflight && pass && !ran:
						t.Fatalf("preflight with PassPreflights: next did not run: %d %s", rec.Code, rec.Body)
					case !preflight && rec.Code < 400:
						t.Fatalf("%d %s, want a refusal", rec.Code, rec.Body)
					}
				})
			}
		}
		// Behind a guard that passed a preflight on, every guard passes
		// it on too, so that the app's CORS layer gets it.
		if pass {
			var reached bool
			cors := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true; w.WriteHeader(http.StatusNoContent) })
			h := a.mw.Require(consumerRBAC.Require("documents", "read")(a.mw.RequireFactor(time.Hour, sms)(cors)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req("OPTIONS", "/", "header:Access-Control-Request-Method:POST"))
			if !reached {
				t.Fatalf("PassPreflights: the CORS layer behind three guards was not reached: %d", rec.Code)
			}
		}
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// hasPrincipal reports whether r's context holds a person's session, a
// machine's or an access token.
func hasPrincipal(r *http.Request) bool {
	ctx := r.Context()
	_, c := stytchguard.ConsumerFromContext(ctx)
	_, m := stytchguard.MemberFromContext(ctx)
	_, mc := stytchguard.MachineFromContext(ctx)
	_, at := stytchguard.AccessTokenFromContext(ctx)
	return c || m || mc || at
}

// TestGuardTableIsComplete: every exported function or method of the
// middleware and authz packages that returns a guard (func(http.Handler)
// http.Handler, or http.Handler from a next http.Handler) is listed in
// guardConstructors or notGuards, so that a new guard cannot skip
// TestGuardContract.
func TestGuardTableIsComplete(t *testing.T) {
	var found []string
	for _, pkg := range []string{"middleware", "authz"} {
		files, err := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || !fn.Name.IsExported() || !returnsGuard(fn.Type) {
					continue
				}
				name := pkg + "." + fn.Name.Name
				if fn.Recv != nil {
					recv := fn.Recv.List[0].Type
					if star, ok := recv.(*ast.StarExpr); ok {
						recv = star.X
					}
					name = pkg + "." + recv.(*ast.Ident).Name + "." + fn.Name.Name
				}
				found = append(found, name)
			}
		}
	}
	var listed []string
	listed = append(listed, guardConstructors...)
	for name := range notGuards {
		listed = append(listed, name)
	}
	slices.Sort(found)
	slices.Sort(listed)
	if !slices.Equal(found, listed) {
		t.Fatalf("guard constructors in the source:\n  %s\nlisted:\n  %s\nadd each new one to guardConstructors (and to TestGuardContract) or notGuards",
			strings.Join(found, "\n  "), strings.Join(listed, "\n  "))
	}
}

// returnsGuard reports whether ft is a guard's constructor: it returns
// func(http.Handler) http.Handler, or takes a next http.Handler and returns
// an http.Handler.
func returnsGuard(ft *ast.FuncType) bool {
	if ft.Results == nil || len(ft.Results.List) != 1 {
		return false
	}
	isHandler := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Handler" && sel.X.(*ast.Ident).Name == "http"
	}
	switch r := ft.Results.List[0].Type.(type) {
	case *ast.FuncType:
		return r.Params != nil && len(r.Params.List) == 1 && isHandler(r.Params.List[0].Type) &&
			r.Results != nil && len(r.Results.List) == 1 && isHandler(r.Results.List[0].Type)
	default:
		return isHandler(r) && ft.Params != nil && len(ft.Params.List) == 1 && isHandler(ft.Params.List[0].Type)
	}
}
