package session

// Classify and its kinds are the package's own classification of errors,
// which its tests check against the sentinels.
type Kind = kind

const (
	KindOther       = kindOther
	KindSessionGone = kindSessionGone
	KindForbidden   = kindForbidden
	KindBadRequest  = kindBadRequest
	KindUnavailable = kindUnavailable
	KindCredentials = kindCredentials
)

var Classify = classify

// UnavailableError is the error of a call Stytch gave no usable answer to.
type UnavailableError = unavailableError
