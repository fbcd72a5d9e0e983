package stytchtest

import (
	"net/http/httptest"

	"github.com/stytchguard/stytchguard/session"
)

// Server is an Emulator serving on a loopback port, like httptest.Server. The
// Emulator's methods (users, sessions, keys, policies, clock, faults, call
// counts) are promoted onto it.
type Server struct {
	*Emulator
	// URL is the base URL, "http://127.0.0.1:PORT": pass it as
	// session.Config.BaseURL, or use Config.
	URL string

	srv *httptest.Server
}

// NewServer starts an emulator on a loopback port. Close it when done.
func NewServer(opts ...Option) *Server {
	e := New(opts...)
	srv := httptest.NewServer(e)
	return &Server{Emulator: e, URL: srv.URL, srv: srv}
}

// Config returns a session.Config that points a client at this server.
func (s *Server) Config() session.Config {
	return session.Config{ProjectID: s.ProjectID(), Secret: s.Secret(), BaseURL: s.URL}
}

// Client returns a session client for this server with the default retry
// policy and timeout.
func (s *Server) Client() *session.Client {
	return s.client(false)
}

// B2BClient is Client for the project's B2B product line
// (session.Config.B2B): what a B2B app's middleware and guards are built
// from.
func (s *Server) B2BClient() *session.Client {
	return s.client(true)
}

func (s *Server) client(b2b bool) *session.Client {
	cfg := s.Config()
	cfg.B2B = b2b
	c, err := session.New(cfg)
	if err != nil {
		panic("stytchtest: " + err.Error()) // the config is ours and always valid
	}
	return c
}

// Close wakes requests held by injected latency, then shuts the server down
// and waits for its requests to finish.
func (s *Server) Close() {
	s.Emulator.Close()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// IssueConnectedAppToken is Emulator.IssueConnectedAppTokenAs with the
// server's URL as the issuer: the project domain a client got the token
// from.
func (s *Server) IssueConnectedAppToken(subjectID, clientID string, scopes ...string) (string, error) {
	return s.Emulator.IssueConnectedAppTokenAs(s.URL, subjectID, clientID, scopes...)
}

// IssueConnectedAppTokenWith is Emulator.IssueConnectedAppTokenWith with
// the server's URL as the issuer when p.Issuer is "", as
// IssueConnectedAppToken: the project domain a client got the token from,
// which a middleware.Resource on this server takes.
func (s *Server) IssueConnectedAppTokenWith(p ConnectedAppTokenParams) (string, error) {
	if p.Issuer == "" {
		p.Issuer = s.URL
	}
	return s.Emulator.IssueConnectedAppTokenWith(p)
}
