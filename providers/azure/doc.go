// Package azure is the adapter for Azure OpenAI. Azure OpenAI speaks the
// OpenAI Chat Completions and Embeddings wire formats, so the adapter is the
// OpenAI adapter (providers/openai) with Azure's URLs and credential header;
// translation, streaming and error mapping are the OpenAI adapter's.
//
// # Configuration
//
// Config.BaseURL is the resource endpoint, e.g.
// "https://my-resource.openai.azure.com", and is required (a trailing
// "/openai" is accepted). Requests go to
//
//	{endpoint}/openai/deployments/{deployment}/chat/completions?api-version={api_version}
//	{endpoint}/openai/deployments/{deployment}/embeddings?api-version={api_version}
//
// where deployment is the request's model (the upstream model name the
// router chose) unless the deployment setting names a fixed one. Config.APIKey
// is sent as the "api-key" header; with the setting auth=bearer it is sent
// as "Authorization: Bearer <key>" instead (a Microsoft Entra ID token), and
// the [WithBearerToken] option supplies a fresh token per request. The key
// never appears in errors.
//
// Settings:
//
//   - api_version: the api-version query parameter, default
//     [DefaultAPIVersion].
//   - deployment: a fixed deployment name for every request.
//   - auth: "api-key" (default) or "bearer".
//   - stream_usage, max_tokens_field: as for the OpenAI adapter. Azure
//     accepts stream_options and max_completion_tokens from api-version
//     2024-09-01-preview on; set stream_usage=false and
//     max_tokens_field=max_tokens for older versions.
//
// Capabilities report the "openai" dialect, so requests from the OpenAI
// surface are passed through as the client sent them (see package openai). The adapter does not list models: Azure's data plane lists
// base models, not the deployments requests are addressed to.
//
// # Errors and content filtering
//
// Azure error bodies are OpenAI-shaped ({"error":{"code":...,"message":...}})
// and become [*providers.Error] as in the OpenAI adapter: 401 →
// authentication, 404 DeploymentNotFound → not found, 429 → rate limited
// with the retry-after(-ms) hint. A prompt rejected by Azure's content
// filter is a 400 with code "content_filter": KindInvalidRequest, not
// retryable, Code "content_filter". A completion cut by the filter ends
// with finish_reason "content_filter", i.e. [providers.FinishContentFilter].
// The leading stream chunk that only carries prompt_filter_results is
// skipped.
package azure
