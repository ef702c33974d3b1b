package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/agentpay/agentpay"
)

// registerAssets registers the digital assets named in spec, a comma-separated
// list of CODE:SCALE such as "EURC:6,PYUSD:6" (USDC:6 is built in). Every
// node must be given the same list: an amount means nothing without its scale.
func registerAssets(spec string) error {
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, scale, ok := strings.Cut(item, ":")
		n, err := strconv.Atoi(scale)
		if !ok || err != nil {
			return fmt.Errorf("AGENTPAY_ASSETS: %q is not CODE:SCALE", item)
		}
		if err := agentpay.RegisterAsset(agentpay.Asset{Code: code, Scale: n, Name: code, Digital: true}); err != nil {
			return fmt.Errorf("AGENTPAY_ASSETS: %w", err)
		}
	}
	return nil
}
