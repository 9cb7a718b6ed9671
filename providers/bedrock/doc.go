// Package bedrock is the adapter for Amazon Bedrock's Runtime API.
//
// # Requests
//
// Chats go to Converse (POST /model/MODEL/converse) and ConverseStream
// (/model/MODEL/converse-stream), whose one request shape serves every
// model family Bedrock hosts. MODEL is a model id
// ("anthropic.claude-3-5-haiku-20241022-v1:0"), a cross-region inference
// profile ("us.anthropic.claude-sonnet-4-20250514-v1:0") or an ARN,
// percent-encoded in the path. System messages become system blocks, tool
// results user turns of toolResult blocks, consecutive turns of one role
// are merged (Converse wants them alternating), images and documents are
// sent as inline bytes, cache breakpoints as cachePoint blocks. TopK and,
// for Claude, reasoning go in additionalModelRequestFields (top_k,
// thinking). What Converse cannot express is listed by Unsupported and
// refused or dropped by the gateway (seed, penalties, n > 1, structured
// output, tool_choice none with tools, media by URL).
//
// Streams arrive as application/vnd.amazon.eventstream and are decoded
// with the AWS SDK's eventstream decoder ([EventReader]); each event
// becomes a chunk as it arrives. A body that ends before messageStop is a
// KindConnection error; a corrupt message (CRC, length, header) a
// KindBadResponse one.
//
// Embeddings go through InvokeModel (POST /model/MODEL/invoke): Amazon
// Titan text embeddings one input per call, Cohere Embed up to 96.
// ListModels calls the control plane's ListFoundationModels.
//
// # Credentials
//
// Requests are signed with Signature Version 4 (aws-sdk-go-v2's signer,
// service "bedrock"). The credential is "ACCESS_KEY_ID:SECRET_ACCESS_KEY"
// with an optional ":SESSION_TOKEN"; without one the SDK's default chain
// is used (environment, shared files and the profile setting, web
// identity as on EKS with IRSA, ECS and EC2 instance roles). The role_arn
// setting (with external_id) assumes a role through STS with those
// credentials. A Bedrock API key (a credential without ':', or the auth
// setting api_key) is sent as a bearer token instead of a signature.
// Credentials are cached by the SDK and refreshed before they expire.
//
// Settings: region (default us-east-1, or the AWS configuration's),
// profile, role_arn, external_id, sts_url (STS endpoint), control_url (the
// control plane for ListModels; the base URL when one is set), auth
// (sigv4 or api_key), embed_input_type (Cohere's input_type, default
// search_document).
//
// # Errors
//
// Bedrock names its error type in the x-amzn-ErrorType header (and, in
// streams, in an exception message's :exception-type). ThrottlingException
// and ServiceQuotaExceededException are KindRateLimited;
// ModelNotReadyException and ServiceUnavailableException KindOverloaded;
// InternalServerException, ModelErrorException and
// ModelStreamErrorException KindServer; ModelTimeoutException KindTimeout
// (all retryable); ValidationException KindInvalidRequest (KindContextLength
// for a prompt too long); AccessDeniedException KindPermissionDenied;
// signature and key errors KindAuthentication; ResourceNotFoundException
// KindNotFound. The static secret key is redacted from every message.
package bedrock
