package risk

// Outcome is what a decision asks the payments service to do, from weakest to
// strongest: Allow, Challenge, Review, Deny.
type Outcome string

// Outcomes.
const (
	// Allow lets the payment go on as its grant or mandate says.
	Allow Outcome = "allow"
	// Challenge makes the user approve with a passkey even where a mandate
	// would auto-approve; the reason is shown to the user, who decides.
	Challenge Outcome = "challenge"
	// Review holds the payment for an operator.
	Review Outcome = "review"
	// Deny refuses the payment.
	Deny Outcome = "deny"
)

// rank orders outcomes by strength. An unknown outcome ranks below Allow, so
// it can never win a comparison; callers check Valid where the value comes
// from outside.
func (o Outcome) rank() int {
	switch o {
	case Allow:
		return 0
	case Challenge:
		return 1
	case Review:
		return 2
	case Deny:
		return 3
	}
	return -1
}

// Valid reports whether o is one of the four outcomes.
func (o Outcome) Valid() bool { return o.rank() >= 0 }

// Stronger reports whether o asks for more than than does, e.g.
// Deny.Stronger(Review).
func (o Outcome) Stronger(than Outcome) bool { return o.rank() > than.rank() }
