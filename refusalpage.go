package stytchguard

import (
	"html/template"
	"net/http"
	"strings"
)

// Navigation reports whether r is a browser navigating to a page: a GET or
// HEAD that accepts text/html. Refusals of navigations can be pages (and
// redirects to sign in); other requests keep JSON.
func Navigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// WriteRefusalPage is an ErrorHandler for apps that serve pages: a refused
// navigation (Navigation) gets a small HTML page with the refusal's status,
// title and message, and the headers SetHeaders sets; every other request gets
// WriteRefusal's JSON, so API clients see no difference.
func WriteRefusalPage(w http.ResponseWriter, r *http.Request, e *Refusal) {
	if !Navigation(r) {
		WriteRefusal(w, r, e)
		return
	}
	h := w.Header()
	e.SetHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = refusalPage.Execute(w, map[string]any{"Status": e.Status, "Title": http.StatusText(e.Status), "Message": e.Message})
}

var refusalPage = template.Must(template.New("refusal").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Status}} {{.Title}}</title>
<style>body{font:16px system-ui,sans-serif;margin:4rem auto;max-width:32rem;padding:0 1rem;color:#222}h1{font-size:1.4rem}p{line-height:1.5}a{color:#0b5cad}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}.</p><p><a href="/">Back to the start page</a></p></body></html>
`))
