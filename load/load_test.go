package load_test

import (
	"context"
	"testing"

	"github.com/agentpay/agentpay/load"
	"github.com/agentpay/agentpay/store/sqlite"
)

func TestRunInProcess(t *testing.T) {
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/load.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := load.Run(context.Background(), load.StoreDriver{DB: db}, load.Config{
		Accounts: 50, Merchants: 5, Transfers: 2000, Concurrency: 16, HotRatio: 0.1, Asset: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Transfers != 2000 || !r.CheckPassed || r.Rejected != 0 {
		t.Fatalf("report = %+v", r)
	}
}
