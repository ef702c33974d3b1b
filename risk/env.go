package risk

import (
	"sync"

	"github.com/google/cel-go/cel"
)

// celEnvironment declares every variable of Signals. It is built once: an
// Env is safe for concurrent use and costs far more to build than a rule does
// to compile.
var celEnvironment = sync.OnceValues(func() (*cel.Env, error) {
	opts := make([]cel.EnvOption, 0, len(variables)+1)
	for _, v := range variables {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	// Rates are doubles and thresholds are often written as integers
	// (merchant.claim_rate > 0); without this the checker refuses them.
	opts = append(opts, cel.CrossTypeNumericComparisons(true))
	return cel.NewEnv(opts...)
})
