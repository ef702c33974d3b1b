// Package risk makes real-time risk decisions about payments. It is pure: the
// payments service gathers Signals from its counters and calls
// Engine.Evaluate on every payment creation and again at approval; the engine
// runs CEL rules over the signals and returns a Decision (allow, challenge,
// review or deny) with every reason, the rules' version and the signals, so
// the decision can be explained later. It also holds the pure helpers the
// caller keeps its signals with: amount histograms (Bucket, Quantile),
// sliding-window velocities (Sliding, WindowStart) and the intent check
// (IntentOverlap).
//
// # Rules files
//
// One rule per line; blank lines and lines starting with # are ignored:
//
//	<code> <outcome> "<message>" <CEL expression>
//
// The code is [a-z0-9_]+ (at most 64 bytes), unique in the file, and becomes
// the Reason's code. The outcome is challenge, review or deny (an allow rule
// would change nothing, so it is refused). The message is a double-quoted
// string with Go's escapes, shown to the user or operator; it must be
// printable text. The expression is CEL and must type-check to bool. There
// are no trailing comments: # may appear inside a CEL string.
//
// Every leaf of Signals is a variable named by its JSON path, with its Go
// type mapped to CEL's int, double, string or bool:
//
//	stage
//	payment.amount payment.asset payment.items payment.merchant_category
//	user.history_count user.history_median user.history_p95 user.tier user.tier_per_payment
//	velocity.{grant,agent_key,user,merchant}.{m1,h1,d1}.{count,amount}
//	merchant.first_payment merchant.category_allowed merchant.captures_30d merchant.claims_30d merchant.claim_rate
//	agent_key.users_h1 agent_key.users_d1 agent_key.decisions_24h agent_key.denies_24h agent_key.deny_rate
//	agent_key.claims_30d agent_key.captures_30d agent_key.claim_rate
//	intent.purpose intent.mismatch intent.overlap
//
// Because every name is declared with its type, a misspelt variable or a
// comparison of a string with a number is refused by Compile with its line
// number. Ints and doubles compare with each other (merchant.claim_rate > 0),
// but arithmetic needs one type (double(payment.amount) * 1.5).
//
// The decision is the strongest outcome of the matching rules, Allow if none
// match; Reasons lists every match in file order. A rule that fails at run
// time matches with outcome Review and code rule_error (see
// Ruleset.Evaluate). A file holds at most RulesMax rules and lines of at
// most RuleLineBytesMax bytes, and one evaluation of one rule may cost at
// most RuleCostMax in CEL's cost units. DefaultRules is an example.
package risk
