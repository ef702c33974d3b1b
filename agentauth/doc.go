// Package agentauth authenticates agents: their Ed25519 keys, given as JSON
// Web Keys, and the RFC 9421 HTTP Message Signatures with which they sign
// every request.
//
// # The scheme
//
// An agent holds an Ed25519 key pair and registers the public key as a JWK
// (ParseJWK). Its keyid is the key's RFC 7638 thumbprint (Thumbprint), which
// is also the fingerprint shown to users.
//
// Every request carries one signature (Sign, Verifier.Verify) that:
//   - covers "@method" and "@target-uri", and "content-digest" whenever the
//     request has a body, the body being bound by an RFC 9530 Content-Digest
//     header holding its SHA-256 (ContentDigest, VerifyContentDigest);
//   - has the parameters created and expires (Unix seconds; the window is at
//     most five minutes), nonce (16 to 128 characters; Sign uses 128 random
//     bits), keyid, alg="ed25519" and tag="agentpay".
//
// The tag selects the signature: Verify ignores signatures with other tags,
// and signatures agents make for other purposes (x402
// authorizations, mandate key-binding) carry other tags or prefixes, so one
// can never be replayed as another. The signature base is built exactly per
// RFC 9421 §2.5; its "@signature-params" line is the serialization of the
// covered components and parameters in the order the signer gave them.
//
// # Why the target URI comes from configuration
//
// Proxies and load balancers rewrite Host and add X-Forwarded-* fields, and
// clients can set them to anything. The verifier therefore rebuilds
// "@target-uri" from the configured public base URL (Verifier.BaseURL: its
// scheme, host and path prefix) and the path and query the server received,
// never from Host or X-Forwarded-*. A request signed for another host does
// not verify, whatever headers a proxy passes on.
//
// # Replay
//
// Verify refuses signatures older than Verifier.MaxAge (five minutes),
// expired ones, and ones created further in the future than Verifier.Skew
// (30 seconds). Within that window a signed request could be replayed, so
// for every mutating request the caller must record Verified.Nonce (with
// Verified.KeyID) in the request's unit of work, where a nonce seen before
// fails the unit on every node; nonces can be forgotten once their
// Verified.Expires has passed. Safe requests rely on the short window alone.
//
// # Errors
//
// Every refusal is an *agentpay.Error of kind agentpay.EUNAUTHORIZED (an
// HTTP 401) with one of the Code* constants, and Param naming the header at
// fault.
package agentauth
