// Package guardrails checks and rewrites what goes into and comes out of a
// model: personal data, secrets, prompt injection, deny lists, size,
// topics and languages, structured-output schemas, and external checks
// (webhooks, moderation models).
//
// # Policies
//
// A [Policy] is attached to a team, a service, a virtual key or a route
// (model alias) and holds an ordered list of [Guardrail]s. Each guardrail
// has a kind, a stage (input, output or both), a mode (validate: flag or
// block; mutate: rewrite), fail-open or fail-closed behaviour, a scope (the
// roles whose messages it reads at the input stage: system, user,
// assistant, tool — so an injection detector can watch tool results only)
// and a kind-specific JSON config:
//
//	pii          {"types": ["email","phone","card","iban","ssn","ip"], "reversible": true, "allow": ["regexp"]}
//	secrets      {"types": ["aws_access_key","openai_key","anthropic_key","github_token","slack_token","jwt","private_key","google_api_key"], "allow": [...]}
//	injection    {"threshold": 1.0, "patterns": [{"name": "x", "pattern": "regexp", "weight": 0.5}]}
//	denylist     {"words": [...], "patterns": ["regexp"], "allow": ["regexp"], "category": "denylist"}
//	size         {"max_bytes": 32768, "max_tokens": 8000}
//	topics       {"allowed": {"billing": ["invoice","refund"]}, "denied": {"politics": ["election"]}, "languages": ["en"]}
//	json_schema  {"schema": {...}}                       (output stage only)
//	webhook      {"url": "https://...", "secret": "whsec_...", "timeout": "2s"}
//	moderation   {"classifier": "default", "categories": ["violence"], "timeout": "2s"}
//
// Regular expressions, word lists and schemas are compiled once, by
// [Engine.Compile]; a policy that does not compile is refused with
// [ErrInvalidPolicy]. Word lists match whole words, ignoring ASCII case.
//
// # Resolution and order
//
// Every policy attached to the request's team, service, key and route
// applies ([Registry.Resolve]). At the input stage they run in that order,
// broadest first, by policy id within one attachment: an organisation-wide
// redaction happens before narrower policies see the text, and the route's
// policy, the one closest to the provider, sees the final prompt. The
// output stage runs them in reverse, so the team's policy sees the final
// answer. Within a stage the local guardrails run first, in that order
// (each sees the previous one's rewrites; the first block stops the
// request, and no external service is called), then the external ones run
// concurrently on the result and are applied in that order.
//
// # Placeholders and reversible redaction
//
// In mutate mode, span guardrails (pii, secrets, denylist) replace each
// match by a typed placeholder, numbered per request: "[EMAIL_1]",
// "[PHONE_1]", "[CARD_1]", "[IBAN_1]", "[SSN_1]", "[IP_1]", "[AWS_KEY_1]",
// "[API_KEY_1]", "[JWT_1]", "[PRIVATE_KEY_1]", "[REDACTED_1]"; the same
// value gets the same placeholder. With "reversible": true (pii only) the
// originals are kept in the request's [State], and the output filter
// restores placeholders the model repeats, for that request only. The
// mapping lives in memory for the duration of the request: it is never
// stored, logged or shared between requests, and State prints counts
// only. New personal data in the output is redacted, not restored.
//
// # Verdicts and errors
//
// Every guardrail that acts leaves a [Verdict]: policy, guardrail, kind,
// stage, mode, action (flag, block, mutate, error), categories, counts and
// an injection score, never the matched text. A blocked request or stream
// returns a [*BlockedError], which matches [ErrBlocked] and whose message
// names the guardrail and categories only. A guardrail that fails (an
// external check times out or answers badly) records an error verdict;
// fail-closed ones (the default) then block with category
// "guardrail_error", fail-open ones let the request through.
//
// # Streams
//
// See [OutputFilter]: span guardrails run on a sliding window that holds
// back at most W bytes per choice ([WithStreamWindow], default
// [DefaultWindow]) plus any unfinished secret, so a match split across
// chunks is blocked or rewritten before any of it is sent, at the price of
// W bytes of latency; whole-text guardrails run when the choice finishes.
//
// # Webhook contract
//
// A webhook guardrail POSTs a [WebhookRequest] as JSON, signed per the
// Standard Webhooks specification under the guardrail's secret (headers
// webhook-id, webhook-timestamp, webhook-signature; see package webhooks
// for the secret format and how receivers verify a call and refuse
// replays within the five-minute window). Use a "whsec_" secret, e.g.
// from webhooks.GenerateSecret. The admin API stores the secret sealed
// under the master key ([SealSecret], "sealed:v1:..." in the spec); the
// [Registry] opens it when the policy compiles ([WithSealer]):
//
//	{"policy": "p", "guardrail": "g", "stage": "input", "time": 1767225600,
//	 "texts": [{"role": "user", "text": "..."}]}
//
// and expects status 2xx with a [WebhookResponse]:
//
//	{"action": "allow" | "flag" | "block" | "mutate",
//	 "categories": ["..."],
//	 "replacement": ["one replacement per text, in order (mutate only)"]}
//
// "mutate" is applied only by a guardrail in mutate mode (otherwise it is
// recorded as a flag) and only at the input stage or for unary output
// checks; on a stream the text was already sent, so it is recorded as a
// flag. Any other status, a body that does not parse, an unknown action
// or a timeout is a failure, handled per fail-open/fail-closed.
//
// # Moderation
//
// Moderation guardrails call a [Classifier] registered with
// [WithClassifier]. [ChatClassifier] asks a chat model through a
// providers.Provider with a classification prompt; [OpenAIModeration]
// calls an OpenAI-compatible /moderations endpoint.
package guardrails
