package main

import (
	"testing"

	"github.com/agentpay/agentpay"
)

func TestRegisterAssets(t *testing.T) {
	if err := registerAssets("TSTA:6, TSTB:0,"); err != nil {
		t.Fatal(err)
	}
	for code, scale := range map[string]int{"TSTA": 6, "TSTB": 0, "USDC": 6} {
		if a, ok := agentpay.LookupAsset(code); !ok || a.Scale != scale || !a.Digital {
			t.Errorf("%s = %+v, %v", code, a, ok)
		}
	}
	for _, bad := range []string{"TSTC", "TSTC:x", "TSTA:2", "USD:2", "x:6"} {
		if err := registerAssets(bad); err == nil {
			t.Errorf("registerAssets(%q) accepted", bad)
		}
	}
}
