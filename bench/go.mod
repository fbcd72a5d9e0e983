module github.com/stytchguard/stytchguard/bench

go 1.25.0

require (
	github.com/MicahParks/keyfunc/v3 v3.9.0
	github.com/auth0/go-jwt-middleware/v2 v2.3.1
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/stytchguard/stytchguard v0.0.0
)

require (
	github.com/MicahParks/jwkset v0.11.3 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	golang.org/x/crypto v0.45.0 // indirect
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	gopkg.in/go-jose/go-jose.v2 v2.6.3 // indirect
)

replace github.com/stytchguard/stytchguard => ../
