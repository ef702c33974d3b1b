// Package identity signs users up, gives them wallets, and raises their tier
// through identity verification.
//
// A user starts at tier 0 (agents may not pay), reaches tier 1 by proving
// they receive a one-time code at their email address or phone number
// (CodeVerifier) and tier 2 by having an identity document verified
// (DocumentVerifier, which in this build is a development stand-in that
// trusts the reference it is given). Verification never lowers a tier.
// agentpay.Limits caps what each tier may pay; Service.Allow applies it.
//
// Every write is a store.Unit through the committer: rows for new users,
// contacts, challenges and evidence; versioned updates for tiers and
// attempts; accounts for wallets.
package identity
