// Package jwtauth verifies JSON Web Tokens from trusted issuers locally:
// OpenID Connect ID tokens and JWT access tokens of an identity provider
// (admin single sign-on), Kubernetes service-account tokens, SPIFFE
// JWT-SVIDs (callers without virtual keys).
//
// An issuer's keys are found by OpenID Connect discovery (or a configured
// JWKS URL, or keys given in configuration) and cached in memory; a token
// signed with a key the cache does not know makes the verifier fetch the
// key set again (at most once a second), so key rotation at the issuer
// is picked up without a restart and made-up key ids cannot make the
// gateway hammer the issuer. Signatures are checked with go-oidc and
// go-jose; iss, aud, exp, nbf and iat are checked here with a bounded clock
// skew. Verified tokens are cached until they expire, so a token used for
// many calls is verified once. Nothing here calls a database.
package jwtauth
