// Package vertex is the adapter for Google Vertex AI's model endpoints.
//
// One provider serves a project and location (settings project and
// location, default us-central1; "global" uses aiplatform.googleapis.com):
//
//   - Gemini models through the Gemini adapter (providers/gemini) with
//     the model methods under
//     v1/projects/P/locations/L/publishers/google/models/M
//     (generateContent, streamGenerateContent?alt=sse);
//   - Claude models (ids starting with "claude") through the Anthropic
//     adapter (providers/anthropic) at
//     publishers/anthropic/models/M:rawPredict and :streamRawPredict, with
//     the Messages body's model removed and anthropic_version
//     "vertex-2023-10-16" set; requests from the Anthropic surface pass
//     through as they do to Anthropic;
//   - text embedding models through :predict.
//
// Requests carry "Authorization: Bearer <access token>". The credential
// is a service-account key (the JSON file's content; the token_url
// setting replaces its token_uri) or another Google credentials JSON
// (external_account for workload identity federation, authorized_user);
// without one, Application Default Credentials are used
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's, or the metadata server as on
// GKE with workload identity). Tokens are cached and refreshed in the
// background when a request finds one within five minutes of its expiry;
// only a request that finds no valid token waits for one.
package vertex
