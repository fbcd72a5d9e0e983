package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// member is the B2B protected handler: it reads the member's session.
var member = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, found := stytchguard.MemberFromContext(r.Context()); !found {
		w.WriteHeader(http.StatusInternalServerError)
	}
})

// BenchmarkGuardedB2B: Guarded for a B2B project, which no peer serves:
// 1,024 member sessions' JWTs in the mix's shuffled order, each request for
// /orgs/{organization_id}/documents behind RequireIn, which checks the
// organization in the URL and the member's roles merged with the
// organization's own. Its target is the consumer one's: under 1 µs.
func BenchmarkGuardedB2B(b *testing.B) {
	srv := stytchtest.NewServer()
	b.Cleanup(srv.Close)
	viewer := session.Role{RoleID: "viewer", Description: "reads", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}}
	srv.SetB2BPolicy(session.Policy{Roles: []session.Role{{RoleID: "stytch_member", Permissions: []session.Permission{}}, viewer}})
	org := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, err := srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "bench@example.com", Roles: []string{"viewer"}})
	if err != nil {
		b.Fatal(err)
	}
	client := srv.B2BClient()
	mw, err := middleware.New(middleware.Config{Client: client})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mw.Close)
	az, err := authz.New(authz.Config{Client: client})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(az.Close)
	// Routing is the app's router's cost, not the library's: the requests
	// carry their path value as ServeMux (or chi) sets it, and go straight
	// to the guarded handler, as Guarded's do.
	guarded := mw.Require(az.RequireIn(authz.PathValue("organization_id"), authz.Permission{ResourceID: "documents", Action: "read"})(member))

	reqs := make([]*http.Request, 0, pool)
	for range pool {
		t, err := srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{Duration: 24 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/orgs/"+org.OrganizationID+"/documents", nil)
		r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: t.SessionJWT})
		r.SetPathValue("organization_id", org.OrganizationID)
		reqs = append(reqs, r)
	}
	mix := newFixture(b).mix
	b.Run("stytchguard", func(b *testing.B) { serve(b, guarded, reqs, func(i int) int { return mix[i%len(mix)] }) })
}
