// Package x402 speaks x402, the HTTP 402 payment protocol (version 2, and
// version 1 for older clients): its wire types and header codecs, a
// net/http middleware that puts a price on routes, a client for
// facilitators, and the agentpay ledger scheme, with which agents pay from
// their agentpay wallet by signing an Authorization with their Ed25519
// key.
//
// The protocol foundation here holds no state: it neither moves money nor
// remembers nonces. A facilitator (agentpay's, behind POST /x402/verify,
// POST /x402/settle and GET /x402/supported) does both, using
// LedgerVerifier to check payments.
//
// Merchants wrap handlers with Middleware; agents send requests through
// Client, which pays the 402s it is allowed to. Wire formats follow the
// reference implementation, x402-foundation/x402 (its TypeScript core
// types and zod schemas, its Go types, and specs/), file by file as cited
// in types.go, types_v1.go and facilitator.go.
package x402
