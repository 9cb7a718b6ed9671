// Package apischema holds what the per-dialect wire schemas share: the
// JSON options every surface, adapter and fake uses to read and write
// them, a nullable value, and [Unknowns], which lists the members a
// decoded value carried that its schema does not name.
//
// The schemas themselves live in the subpackages, one per dialect:
// openai (Chat Completions, Embeddings, Models), anthropic (Messages,
// Token Counting, Models) and gemini (generateContent and friends). Each
// is written once from the provider's API reference and imported by the
// HTTP surface that speaks the dialect, by the provider adapter that calls
// it and by the fake upstream that imitates it, so a fake cannot agree
// with an adapter's mistake.
//
// # Unknown members
//
// Every object type of a schema has a field
//
//	Unknown jsontext.Value `json:",embed"`
//
// that collects, on decoding, the members the type does not declare and
// writes them back, after the declared ones, on encoding. A body that a
// newer SDK sends therefore survives a decode and an encode with nothing
// lost, at any nesting level. Types declare the members some part of the
// gateway reads or writes, and the documented request fields a translator
// must decide about; everything else rides along in Unknown.
//
// # JSON
//
// The schemas are read and written with github.com/go-json-experiment/json
// (the proposed encoding/json/v2), which decodes several times faster than
// encoding/json, supports the embedded fallback above, and rejects
// duplicate member names and invalid UTF-8, which a gateway that inspects
// a request and forwards its bytes must not accept: an upstream could read
// a different "model" than the one policy saw.
package apischema
