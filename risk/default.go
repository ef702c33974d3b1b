package risk

import _ "embed"

// DefaultRules is the rules file agentpay starts with (default.rules): hard
// limits deny, signs of a stolen key or a runaway agent go to review, and what
// only the user can judge (an unusual amount, a new merchant, a purpose that
// does not fit) is a challenge.
//
//go:embed default.rules
var DefaultRules string
