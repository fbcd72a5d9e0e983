package stytchtest

import (
	"net/http"
	"strconv"
	"time"
)

// Endpoint names one of the emulated API endpoints, for faults and call
// counts.
type Endpoint string

// The emulated endpoints.
const (
	Authenticate        Endpoint = "sessions.authenticate"
	List                Endpoint = "sessions.get"
	Revoke              Endpoint = "sessions.revoke"
	JWKS                Endpoint = "sessions.jwks"
	ExchangeAccessToken Endpoint = "sessions.exchange_access_token"
	Migrate             Endpoint = "sessions.migrate"
	Attest              Endpoint = "sessions.attest"
	Policy              Endpoint = "rbac.policy"

	B2BAuthenticate        Endpoint = "b2b.sessions.authenticate"
	B2BList                Endpoint = "b2b.sessions.get"
	B2BRevoke              Endpoint = "b2b.sessions.revoke"
	B2BExchange            Endpoint = "b2b.sessions.exchange"
	B2BJWKS                Endpoint = "b2b.sessions.jwks"
	B2BExchangeAccessToken Endpoint = "b2b.sessions.exchange_access_token"
	B2BMigrate             Endpoint = "b2b.sessions.migrate"
	B2BAttest              Endpoint = "b2b.sessions.attest"
	B2BPolicy              Endpoint = "b2b.rbac.policy"
	B2BOrgPolicy           Endpoint = "b2b.rbac.org_policy"
	B2BSMSSend             Endpoint = "b2b.otps.sms.send"
	B2BSMSAuthenticate     Endpoint = "b2b.otps.sms.authenticate"

	M2MClients Endpoint = "m2m.clients" // create, get, update and search
	M2MToken   Endpoint = "m2m.token"

	// Admin is every request to the emulator's own /_emulator/ API.
	Admin Endpoint = "emulator.admin"
)

// Fault is a failure to inject into an endpoint's answers. Set one of Status,
// Drop and Malformed, or Body (with or without Status), or none of them for
// Latency alone.
type Fault struct {
	// Status answers with this status instead of handling the request: 429
	// and 500 with Stytch's error JSON for them, 502, 503 and 504 with a load
	// balancer's HTML page, any other with Stytch-shaped JSON.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header (in whole
	// seconds, rounded up).
	RetryAfter time.Duration
	// Latency delays the answer (faulty or not) by this long, or until the
	// client gives up.
	Latency time.Duration
	// Drop closes the connection without answering.
	Drop bool
	// Malformed answers 200 with a truncated JSON body.
	Malformed bool
	// Body answers with exactly these bytes (as application/json) and Status,
	// or 200 when Status is zero: a JWKS with no keys, say.
	Body string
	// Times applies the fault to the next Times calls only; zero means every
	// call until ClearFaults.
	Times int
	// Fraction applies the fault to each call with this probability; zero
	// means every call.
	Fraction float64
}

type faultState struct {
	Fault
	left int // calls left when Times > 0
}

// InjectFault adds a fault to an endpoint. Faults stack: each call takes the
// first one that applies to it.
func (e *Emulator) InjectFault(ep Endpoint, f Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[ep] = append(e.faults[ep], &faultState{Fault: f, left: f.Times})
}

// ClearFaults removes every injected fault, from the endpoints given or, with
// none given, from all.
func (e *Emulator) ClearFaults(eps ...Endpoint) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(eps) == 0 {
		clear(e.faults)
	}
	for _, ep := range eps {
		delete(e.faults, ep)
	}
}

// Calls returns how many requests an endpoint has received, faulty answers
// included.
func (e *Emulator) Calls(ep Endpoint) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[ep]
}

// ResetCalls sets every call count to zero.
func (e *Emulator) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.calls)
}

// admit counts a call to ep and picks the fault that applies to it, if any.
func (e *Emulator) admit(ep Endpoint) (Fault, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[ep]++
	for i, f := range e.faults[ep] {
		if f.Fraction > 0 && e.rng.Float64() >= f.Fraction {
			continue
		}
		if f.Times > 0 {
			f.left--
			if f.left <= 0 {
				e.faults[ep] = append(e.faults[ep][:i:i], e.faults[ep][i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// serveFault plays f. It reports whether the request is answered; false means
// only a latency was injected and the request goes on to its handler.
func (e *Emulator) serveFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-e.ctx.Done():
			t.Stop()
			return true
		}
	}
	if f.RetryAfter > 0 {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"request_id": "request-id-` + e.env + `-`))
		return true
	case f.Body != "":
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return true
	case f.Status == http.StatusBadGateway, f.Status == http.StatusServiceUnavailable, f.Status == http.StatusGatewayTimeout:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(f.Status) + " " + http.StatusText(f.Status) + "</h1></body></html>\n"))
		return true
	case f.Status == http.StatusTooManyRequests:
		e.writeError(w, apiError(f.Status, "too_many_requests", "Too many requests have been made."))
		return true
	case f.Status == http.StatusInternalServerError:
		e.writeError(w, apiError(f.Status, "internal_server_error", "Oops, something seems to have gone wrong, please reach out to support@stytch.com to let us know what went wrong."))
		return true
	case f.Status != 0:
		e.writeError(w, apiError(f.Status, "injected_fault", "A fault was injected by the emulator."))
		return true
	}
	return false
}
