// Package milligold is a client for the milliGOLD Partner API.
//
// Create one Client per partner and share it; it is safe for concurrent use:
//
//	client, err := milligold.New(
//		milligold.WithBaseURL(milligold.ProductionURL), // HostedSandboxURL is the default
//		milligold.WithCredentials(partnerID, partnerSecret),
//	)
//	rate, err := client.GoldRate(ctx)
//
// The Client requests an access token when it needs one and renews it before
// it expires, with one token request in flight however many goroutines call.
// It paces requests to stay inside the API's rate limit (10 requests per 20
// seconds, adopting the limit the API announces), and a 429 that still comes
// is waited out and retried up to WithMaxRetries times.
//
// Every failure is an error to branch on: a non-2xx answer is an *APIError
// (a 429 a *RateLimitError, which also says when to retry), and errors.Is
// matches ErrNotFound, ErrUnauthorized and ErrRateLimited by HTTP status, as
// the API document asks; messages may be reworded, statuses stay. Responses
// may gain fields and values (a new gender, say) without breaking decoding,
// but a 2xx that is not the documented answer (another status or media
// type, success not true, a required field missing) is an
// *UnexpectedResponseError, never zero values. No redirect is followed (a
// 3xx is a *RedirectError): the secret and the token go only to the base
// URL. Every answer is read within bounds, in size and, per attempt, in time
// (WithRequestTimeout).
//
// The partner secret and access tokens never appear in errors, in log records
// (see WithLogger) or when a Client, an Option, a Token or an error is
// printed with any fmt verb.
//
// The Client is built on the oapi-codegen client in gen/api, wrapped by the
// token and rate-limit middleware milligold-gen generates from openapi.yaml;
// it reads the answers itself, into gen/api's types.
// For tests, sandbox/sandboxtest starts the local sandbox in-process.
package milligold
