package mcpserver

import "github.com/agentpay/agentpay"

// Money is an amount as tools show it: exact minor units for the model to
// compute with, and the amount as people write it, to repeat to the user.
type Money struct {
	Amount  int64  `json:"amount" jsonschema:"in minor units of the asset (cents for USD: 450 is 4.50 USD)"`
	Asset   string `json:"asset" jsonschema:"ISO 4217 currency or digital asset code, e.g. USD or USDC"`
	Display string `json:"display" jsonschema:"the amount as people write it, e.g. 4.50 USD"`
}

// money renders amount of asset at the asset's scale (an asset this
// process does not know shows its minor units).
func money(amount int64, asset string) Money {
	return Money{Amount: amount, Asset: asset, Display: agentpay.Money{Amount: amount, Asset: asset}.String()}
}
