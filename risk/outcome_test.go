package risk

import "testing"

func TestOutcomeStronger(t *testing.T) {
	order := []Outcome{Allow, Challenge, Review, Deny}
	for i, o := range order {
		if !o.Valid() {
			t.Errorf("%s is not valid", o)
		}
		for j, than := range order {
			if got, want := o.Stronger(than), i > j; got != want {
				t.Errorf("%s.Stronger(%s) = %v, want %v", o, than, got, want)
			}
		}
	}
	for _, o := range []Outcome{"", "Allow", "block"} {
		if o.Valid() {
			t.Errorf("%q is valid", o)
		}
		if o.Stronger(Allow) {
			t.Errorf("invalid %q is stronger than allow", o)
		}
		if !Allow.Stronger(o) {
			t.Errorf("allow is not stronger than invalid %q", o)
		}
	}
}
