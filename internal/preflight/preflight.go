package preflight

import (
	"context"
	"net/http"
)

// Is reports whether r is a CORS preflight: OPTIONS with
// Access-Control-Request-Method.
func Is(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// passKey marks a preflight that a guard passed on by the app's setting.
type passKey struct{}

// Pass returns ctx marked: the preflight it belongs to was passed on by
// the app's setting, and the guards after pass it on too.
func Pass(ctx context.Context) context.Context { return context.WithValue(ctx, passKey{}, true) }

// Passed reports whether ctx was marked by Pass.
func Passed(ctx context.Context) bool { return ctx.Value(passKey{}) != nil }

// Answer answers a preflight as a guard does: 204, no body.
func Answer(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// Serve handles r for a guard when it is a preflight, and reports whether
// it was: passed on to next when a guard before this one passed it on
// (Passed), else answered (Answer). A guard calls it first, and returns
// when it reports true.
func Serve(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	if !Is(r) {
		return false
	}
	if Passed(r.Context()) {
		next.ServeHTTP(w, r)
	} else {
		Answer(w)
	}
	return true
}
