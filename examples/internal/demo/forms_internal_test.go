package demo

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestBoundForms: over a real connection, a form post whose body trickles
// in past the bound is answered without its handler getting the form, and
// the connection is closed; one whose body arrives in time is served, and
// an answer longer than the bound, once the body is read, is not cut.
func TestBoundForms(t *testing.T) {
	const bound = 300 * time.Millisecond
	srv := httptest.NewServer(boundForms(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form did not arrive", http.StatusBadRequest)
			return
		}
		time.Sleep(2 * bound) // a slow answer, after the body
		fmt.Fprint(w, r.PostFormValue("email"))
	}), bound))
	t.Cleanup(srv.Close)
	body := "email=ada%40example.com&name=Ada"
	for _, tt := range []struct {
		name string
		gap  time.Duration // before each byte
		want int
	}{
		{"at once", 0, http.StatusOK},
		{"a byte now and then", 50 * time.Millisecond, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "POST /demo/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", len(body))
			if tt.gap == 0 {
				fmt.Fprint(conn, body)
			} else {
				for i := range len(body) {
					time.Sleep(tt.gap)
					if _, err := fmt.Fprint(conn, body[i:i+1]); err != nil {
						break
					}
				}
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}
