package demo

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// DefaultAdminAddr is where a demo's admin listener listens unless
// -admin-addr says otherwise: loopback, on the port OpenTelemetry's
// Prometheus exporter uses by default.
const DefaultAdminAddr = "127.0.0.1:9464"

// AdminFlag registers -admin-addr on fs and returns its value.
func AdminFlag(fs *flag.FlagSet) *string {
	return fs.String("admin-addr", DefaultAdminAddr, `address of the admin listener, which serves GET /metrics to a scraper, apart from the public listener ("" or "off": no admin listener, no metrics)`)
}

// Admin is a demo's admin listener: what operators read (GET /metrics),
// apart from the public listener a load balancer exposes. Metrics tell
// how much of the budget for calls to Stytch is left and whether calls
// pause: what someone running down the project's Stytch rate limit would
// like to watch.
type Admin struct {
	ln net.Listener
	h  http.Handler
}

// OpenAdmin listens on addr for the operators' endpoints, metrics at GET
// /metrics, and says where on stdout ("admin listening on <URL> ..."). For
// "" or "off" it says there is no admin listener and returns nil, nil.
func OpenAdmin(addr string, metrics http.Handler, stdout io.Writer) (*Admin, error) {
	if addr == "" || strings.EqualFold(addr, "off") {
		fmt.Fprintln(stdout, "admin listener off (-admin-addr): no /metrics")
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener (-admin-addr): %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	a := &Admin{ln: ln, h: mux}
	fmt.Fprintf(stdout, "admin listening on %s (GET /metrics, for operators; the public listener has no /metrics)\n", a.URL())
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		fmt.Fprintf(stdout, "warning: the admin listener is not on loopback (%s): keep it from the public, or set -admin-addr 127.0.0.1:9464\n", ln.Addr())
	}
	return a, nil
}

// URL is where the admin listener is reached from this machine: on
// 127.0.0.1 when it listens on every address.
func (a *Admin) URL() string {
	addr := a.ln.Addr().(*net.TCPAddr)
	ip := addr.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(addr.Port))
}

// Close closes the listener of an admin listener that will not be served.
// A nil Admin has nothing to close.
func (a *Admin) Close() error {
	if a == nil {
		return nil
	}
	return a.ln.Close()
}
