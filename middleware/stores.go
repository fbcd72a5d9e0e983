package middleware

import (
	"context"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/memstore"
)

// RevocationList remembers the sessions this app ended, until their JWTs
// could no longer verify anyway. The in-memory default
// (Stores.Revocations nil) covers one process; a store shared by several
// app instances (Redis, say) makes a logout on one refuse the session on all.
// Implementations must be safe for concurrent use. IsRevoked is asked on
// every authenticated request, so it must be fast: a shared store should
// keep a local copy.
type RevocationList interface {
	// Revoke remembers sessionID as ended until until. It returns an error
	// when the revocation could not be recorded where the list promises (a
	// shared store that cannot be reached, or whose replicas did not
	// acknowledge it in time); a list with a local copy records it there
	// first. The logout handlers answer 503 on any error, never 204, so
	// that the logout is repeated.
	Revoke(ctx context.Context, sessionID string, until time.Time) error
	// IsRevoked reports whether sessionID was ended and is still remembered.
	IsRevoked(ctx context.Context, sessionID string) bool
}

// Marks remembers the people (user or member ids) changed elsewhere:
// updated or deleted in Stytch, as its webhooks tell (WebhookHandler). A
// mark holds for as long as a JWT or a cached answer from before the change
// could still be taken as valid; meanwhile those are checked with Stytch.
// Marks live apart from logouts, so that no flood of logouts can push one
// out. The in-memory default is used when Stores.Marks is nil; a store shared by several
// app instances (redisstore) makes a webhook delivered to one reach all.
// Implementations must be safe for concurrent use. MarkedUntil is asked on
// every request a JWT proves, so it must be fast: a shared store keeps a
// local copy.
type Marks interface {
	// Mark records that subject changed, until until (the change's time
	// plus how long a logout is remembered). A mark under Everyone holds for
	// every subject. It returns an error when the mark could not be
	// recorded where the store promises; WebhookHandler then answers 503,
	// so that the delivery is repeated.
	Mark(ctx context.Context, subject string, until time.Time) error
	// MarkedUntil returns the latest end among subject's mark and the mark
	// under Everyone, if either holds.
	MarkedUntil(ctx context.Context, subject string) (time.Time, bool)
}

// Everyone is the subject of a mark that holds for every person: what a
// store records, rather than drop a mark, when it is full.
const Everyone = memstore.Everyone

// RemoteEntry is one of Stytch's answers kept for reuse: a session, or the
// news that the credential's session is gone.
type RemoteEntry struct {
	// Until is when the entry stops being usable.
	Until time.Time `json:"until"`
	// At is when Stytch gave the answer: a user or member changed after it
	// (WebhookHandler) makes it unusable.
	At time.Time `json:"at,omitzero"`
	// Gone records that Stytch said the session is gone.
	Gone bool `json:"gone,omitempty"`
	// Consumer or Member holds the session Stytch returned.
	Consumer *stytchguard.ConsumerAuth `json:"consumer,omitempty"`
	Member   *stytchguard.MemberAuth   `json:"member,omitempty"`
}

// RemoteCache keeps Stytch's recent answers, so that a credential asked about
// a moment ago is not asked about again. Keys are SHA-256 digests of the
// credential, never the credential. The in-memory default
// is used when Stores.RemoteCache is nil; a shared store can replace it. Implementations must
// be safe for concurrent use; Get must not return an entry past its Until;
// "gone" answers should not be able to evict sessions, so that a storm of
// dead tokens cannot make live ones cost calls again.
type RemoteCache interface {
	// Get returns the entry for key, if one is held and not past its Until.
	Get(ctx context.Context, key string) (*RemoteEntry, bool)
	// Set stores an entry, replacing any for key.
	Set(ctx context.Context, key string, e *RemoteEntry)
	// Delete forgets key.
	Delete(ctx context.Context, key string)
}
