// Package identity knows the gateway's admin principals and turns a call's
// credential into one (it is the [access.Authenticator] of the admin API).
//
// Credentials, recognised by their shape:
//
//	tga-...           a service-account token: SHA-256 → in-memory map
//	tg-...            a virtual key (UsageService only; the access rules
//	                  refuse it everywhere else)
//	header.body.sig   an identity provider's ID token or JWT access token,
//	                  verified locally (package jwtauth); roles come from
//	                  the groups claim (configured mapping) and from role
//	                  bindings by sub, verified e-mail or group
//	a session cookie  a console session (see WebLogin), with its CSRF header
//	anything else     the bootstrap admin token (break-glass owner), compared
//	                  in constant time; it can be switched off once an
//	                  owner exists
//
// Service accounts, their tokens and role bindings are loaded into memory
// at start and kept fresh from the store's change notifications, like the
// registry: no credential check reads the database. A token's last use is
// noted in memory and written in batches in the background.
package identity
