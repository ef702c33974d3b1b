// Package ap2 speaks the Agent Payments Protocol v0.2 (AP2): the mandates
// agentpay issues as the user's trusted surface and credential provider, the
// chains agents present when they buy autonomously, the evaluation of a
// closed purchase against the constraints of an open mandate, and signed
// receipts. It holds no state and knows nothing of HTTP or the database; the
// caller stores mandates and receipts and consumes budgets in its unit of
// work.
//
// # Wire format
//
// It follows the AP2 reference SDK (google-agentic-commerce/AP2,
// code/sdk/python/ap2/sdk, at the schema commit e1ea56d) and the AP2 docs
// (docs/ap2/agent_authorization.md, payment_mandate.md, checkout_mandate.md):
//
//   - A mandate is an SD-JWT (RFC 9901) VC signed with ES256 by its issuer.
//     Its payload carries "_sd_alg": "sha-256" and "delegate_payload": an
//     array of one element, {"...": digest}, whose salted disclosure is the
//     mandate content (vct, constraints, cnf, iat, exp, ...) described by the
//     schemas in spec/. agentpay adds the SD-JWT VC claims iss, iat, exp,
//     vct and, for open mandates, cnf at the top level as well, and jti (the
//     agentpay mandate id) so that a presented chain finds its stored
//     mandate. Inside the content, the arrays the schemas mark
//     x-selectively-disclosable-array (allowed merchants, payees and
//     instruments; acceptable items) hold one disclosure per element, and
//     checkout_jwt (x-selectively-disclosable-field) is an object-property
//     disclosure: the agent may withhold what the verifier need not see.
//   - An open mandate binds the agent's key in cnf.jwk (Ed25519, as agentpay
//     agents hold, or P-256). To buy, the agent signs the closed mandate
//     itself as a KB-SD-JWT (header typ "kb+sd-jwt"; payload iat, aud,
//     nonce, sd_hash over the open SD-JWT as presented, and the closed
//     mandate in its own delegate_payload) and presents open and closed
//     joined by "~~" (draft-gco-oauth-delegate-sd-jwt, as the SDK's
//     MandateClient.present does): <open JWT>~<disclosures>~~<KB JWT>~<disclosures>~.
//   - A receipt is an ES256 JWT whose reference is the base64url SHA-256 of
//     the closed (last) JWT of the chain, as the SDK's
//     get_closed_mandate_jwt documents.
//
// Errors carry the AP2 codes: invalid_credential (the credential does not
// verify), invalid_mandate (it verifies but does not authorize this
// action), unresolved_constraint (a constraint the verifier does not know or
// cannot check), mandates_not_supported (a mandate type or delegation depth
// agentpay does not accept).
package ap2
