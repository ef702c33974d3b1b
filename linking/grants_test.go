package linking_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
	"github.com/agentpay/agentpay/store/storetest"
)

func newUser(t *testing.T, db *store.DB, tier agentpay.Tier) string {
	t.Helper()
	id := agentpay.NewID("usr")
	u := agentpay.User{ID: id, Email: id + "@example.com", DisplayName: "Test", Country: "GB", Tier: tier,
		CreatedAt: time.Now().UnixMicro()}
	if err := db.Committer.Submit(context.Background(), &store.Unit{Rows: []store.Row{store.UserRow(u)}}).Err; err != nil {
		t.Fatal(err)
	}
	return id
}

// link links a new agent key named name to userID and returns its grant.
func link(t *testing.T, svc *linking.Service, userID, name string) agentpay.Grant {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	started, err := svc.Start(context.Background(), linking.StartRequest{PublicKeyJWK: agentauth.JWK(pub),
		AgentName: name, SoftwareID: "com.example." + name, Scopes: []agentpay.Scope{agentpay.ScopePaymentsCreate},
		Limits: agentpay.GrantLimits{Asset: "USD", PerPayment: 10_00, PerDay: 20_00, PerMonth: 100_00}}, linking.RequestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.Approve(context.Background(), started.Link.UserCode, linking.Approval{UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func status(t *testing.T, db *store.DB, grantID string) agentpay.GrantStatus {
	t.Helper()
	g, err := db.Grant(context.Background(), grantID)
	if err != nil {
		t.Fatal(err)
	}
	return g.Status
}

func TestRevokeGrants(t *testing.T) {
	storetest.Engines(t, "linking", func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		db := open()
		svc := &linking.Service{DB: db}
		ada, bob := newUser(t, db, agentpay.TierContact), newUser(t, db, agentpay.TierContact)
		one, two := link(t, svc, ada, "one"), link(t, svc, ada, "two")
		bobs := link(t, svc, bob, "bobs")

		// Preparing writes nothing; the unit revokes exactly that grant.
		g, unit, err := svc.PrepareRevoke(ctx, one.ID, ada)
		if err != nil || g.Status != agentpay.GrantRevoked || len(unit.Updates) != 1 {
			t.Fatalf("prepare: %+v %+v %v", g, unit, err)
		}
		if status(t, db, one.ID) != agentpay.GrantActive {
			t.Fatal("PrepareRevoke wrote")
		}

		for _, c := range []struct{ name, grant, user string }{
			{"another user's grant", bobs.ID, ada},
			{"unknown grant", "grt_nope", ada},
			{"malformed id", "grt/../x", ada},
		} {
			if err := svc.Revoke(ctx, c.grant, c.user); agentpay.ErrorCode(err) != "grant_not_found" {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		if status(t, db, bobs.ID) != agentpay.GrantActive {
			t.Fatal("another user's revoke changed the grant")
		}

		if err := svc.Revoke(ctx, one.ID, ada); err != nil {
			t.Fatal(err)
		}
		if err := svc.Revoke(ctx, one.ID, ada); err != nil {
			t.Fatalf("revoking again: %v", err)
		}
		if _, unit, err := svc.PrepareRevoke(ctx, one.ID, ada); err != nil || len(unit.Updates) != 0 {
			t.Fatalf("prepare a revoked grant: %+v %v", unit, err)
		}
		if status(t, db, one.ID) != agentpay.GrantRevoked || status(t, db, two.ID) != agentpay.GrantActive {
			t.Fatal("revoke touched the wrong grant")
		}

		// A unit prepared before the grant changed fails whole.
		_, stale, err := svc.PrepareRevokeAll(ctx, ada)
		if err != nil || len(stale.Updates) != 1 {
			t.Fatalf("prepare all: %+v %v", stale, err)
		}
		if err := svc.Revoke(ctx, two.ID, ada); err != nil {
			t.Fatal(err)
		}
		if err := db.Committer.Submit(ctx, stale).Err; agentpay.ErrorCode(err) != "version_conflict" {
			t.Fatalf("stale unit: %v", err)
		}

		three, four := link(t, svc, ada, "three"), link(t, svc, ada, "four")
		if n, err := svc.RevokeAll(ctx, ada); err != nil || n != 2 {
			t.Fatalf("revoke all: %d %v", n, err)
		}
		for _, id := range []string{three.ID, four.ID} {
			if status(t, db, id) != agentpay.GrantRevoked {
				t.Fatalf("%s not revoked", id)
			}
		}
		if n, err := svc.RevokeAll(ctx, ada); err != nil || n != 0 {
			t.Fatalf("revoke all again: %d %v", n, err)
		}
		if status(t, db, bobs.ID) != agentpay.GrantActive {
			t.Fatal("revoke all reached another user")
		}
	})
}

func TestUserGrants(t *testing.T) {
	storetest.Engines(t, "linking", func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		db := open()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		svc := &linking.Service{DB: db, Now: func() time.Time { return now }}
		ada, bob := newUser(t, db, agentpay.TierContact), newUser(t, db, agentpay.TierContact)
		var grants []agentpay.Grant
		for _, name := range []string{"first", "second", "third"} {
			grants = append(grants, link(t, svc, ada, name))
			now = now.Add(time.Second)
		}
		link(t, svc, bob, "bobs")
		if err := svc.Revoke(ctx, grants[1].ID, ada); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			limit int
			want  []string
		}{
			{10, []string{"third", "first"}}, // active only, newest first
			{1, []string{"third"}},
			{0, nil},
		} {
			got, err := svc.UserGrants(ctx, ada, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, g := range got {
				names = append(names, g.AgentName)
				if g.SoftwareID != "com.example."+g.AgentName || g.Grant.UserID != ada || g.Grant.Limits.PerDay != 20_00 ||
					len(g.Grant.Scopes) != 1 || g.Grant.AgentKeyID == "" {
					t.Fatalf("limit %d: %+v", c.limit, g)
				}
			}
			if len(names) != len(c.want) || (len(names) > 0 && names[0] != c.want[0]) ||
				(len(names) > 1 && names[1] != c.want[1]) {
				t.Fatalf("limit %d: %v, want %v", c.limit, names, c.want)
			}
		}
	})
}
