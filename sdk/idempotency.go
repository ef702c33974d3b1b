package sdk

import "context"

type idempotencyKeyKey struct{}

// WithIdempotencyKey returns a context whose mutating calls send key as
// their Idempotency-Key instead of a random one. A caller that may repeat a
// logical call across processes or conversations — an MCP tool a model
// retries, a job that restarts — derives key from what identifies the call,
// so the repeat gets the first answer (Idempotent-Replayed) instead of
// acting twice. The same key with another body is an *Error
// idempotency_conflict. Keys are at most 255 bytes and scoped by the
// server to the caller and the route.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyKey{}, key)
}

// idempotencyKey returns the key ctx carries, or a new random one.
func idempotencyKey(ctx context.Context) string {
	if k, _ := ctx.Value(idempotencyKeyKey{}).(string); k != "" {
		return k
	}
	return newIdempotencyKey()
}
