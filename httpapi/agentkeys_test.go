package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

func newAgentKey(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv, string(agentauth.JWK(pub))
}

func TestAgentKeyRotation(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		n := newNode(t, db, "", nil)
		none := agentauth.SignParams{}
		ag := linkAgent(t, n, linking.Approval{})
		priv2, jwk2 := newAgentKey(t)
		next := linkedAgent{key: priv2, keyID: agentauth.Thumbprint(priv2.Public().(ed25519.PublicKey)), grantID: ag.grantID, userID: ag.userID}

		// Refusals, signed by the current key; the grant keeps its key.
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/keys/rotate", `{}`, none), "r-missing"), 400, "missing_field")
		ownJWK := string(agentauth.JWK(ag.key.Public().(ed25519.PublicKey)))
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/keys/rotate", `{"public_key":`+ownJWK+`}`, none), "r-same"), 400, "key_unchanged")
		private := `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(priv2.Public().(ed25519.PublicKey)) +
			`","d":"` + base64.RawURLEncoding.EncodeToString(priv2.Seed()) + `"}`
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/keys/rotate", `{"public_key":`+private+`}`, none), "r-private"), 400, agentauth.CodeJWKPrivate)
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/keys/rotate", `{"public_key":{"kty":"RSA"}}`, none), "r-rsa"), 400, agentauth.CodeJWKInvalid)
		other := linkAgent(t, n, linking.Approval{})
		otherJWK := string(agentauth.JWK(other.key.Public().(ed25519.PublicKey)))
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/keys/rotate", `{"public_key":`+otherJWK+`}`, none), "r-used"), 409, "key_in_use")
		mustStatus(t, n.send(ag.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 200)

		// Rotation: the grant follows the new key; the old one is unknown at once.
		body := `{"public_key":` + jwk2 + `}`
		r := n.send(ag.sign(t, n.url, "POST", "/v1/agent/keys/rotate", body, none), "r1")
		mustStatus(t, r, 200)
		var gj map[string]any
		r.decode(t, &gj)
		if gj["id"] != ag.grantID || gj["agent_key_id"] != next.keyID || gj["status"] != "active" {
			t.Fatalf("rotated grant: %v", r)
		}
		mustRefuse(t, n.send(ag.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 401, "unknown_key")
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, none), "p-old"), 401, "unknown_key")
		r = n.send(next.sign(t, n.url, "GET", "/v1/agent/grant", "", none), "")
		mustStatus(t, r, 200)
		r.decode(t, &gj)
		if gj["id"] != ag.grantID || gj["agent_key_id"] != next.keyID {
			t.Fatalf("grant under the new key: %v", r)
		}
		mustStatus(t, n.send(next.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, none), "p-new"), 200)
		// A retry of the rotation under the new key gets the first response.
		r = n.send(next.sign(t, n.url, "POST", "/v1/agent/keys/rotate", body, none), "r1")
		mustStatus(t, r, 200)
		if !r.replayed() {
			t.Fatalf("retried rotation not replayed: %v", r)
		}
		g, err := db.Grant(context.Background(), ag.grantID)
		if err != nil || g.AgentKeyID != next.keyID || g.Version != 2 {
			t.Fatalf("stored grant %+v %v", g, err)
		}
		// Rotating again moves on once more; the revoked grant stays revoked.
		priv3, jwk3 := newAgentKey(t)
		third := linkedAgent{key: priv3, keyID: agentauth.Thumbprint(priv3.Public().(ed25519.PublicKey))}
		mustStatus(t, n.send(next.sign(t, n.url, "POST", "/v1/agent/keys/rotate", `{"public_key":`+jwk3+`}`, none), "r2"), 200)
		mustRefuse(t, n.send(next.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 401, "unknown_key")
		if err := (&linking.Service{DB: db}).Revoke(context.Background(), ag.grantID, ag.userID); err != nil {
			t.Fatal(err)
		}
		mustRefuse(t, n.send(third.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 401, "grant_revoked")
	})
}

func TestAgentRelinkRevokesPreviousGrant(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		ctx := context.Background()
		n := newNode(t, db, "", nil)
		priv, _ := newAgentKey(t)
		first := linkKey(t, n, priv, linking.Approval{})
		second := linkKey(t, n, priv, linking.Approval{})
		if first.grantID == second.grantID || first.keyID != second.keyID {
			t.Fatalf("grants %s %s", first.grantID, second.grantID)
		}
		if g, err := db.Grant(ctx, first.grantID); err != nil || g.Status != agentpay.GrantRevoked {
			t.Fatalf("first grant %+v %v", g, err)
		}
		active, err := db.ActiveGrantsByAgentKey(ctx, first.keyID)
		if err != nil || len(active) != 1 || active[0].ID != second.grantID {
			t.Fatalf("active grants %+v %v", active, err)
		}
		r := n.send(second.sign(t, n.url, "GET", "/v1/agent/grant", "", agentauth.SignParams{}), "")
		mustStatus(t, r, 200)
		var gj map[string]any
		r.decode(t, &gj)
		if gj["id"] != second.grantID {
			t.Fatalf("signed under %v", r)
		}
	})
}

func TestGrantTierCaps(t *testing.T) {
	forEachDB(t, func(t *testing.T, a *api) {
		ctx := context.Background()
		unverified := mustUser(t, a.db, "", agentpay.TierUnverified)
		contact := mustUser(t, a.db, "", agentpay.TierContact)
		l := startLink(t, a) // asks USD 5000 / 10000 / 50000
		svc := &linking.Service{DB: a.db}
		mustFail := func(svc *linking.Service, userID string, kind string, code, param string) {
			t.Helper()
			_, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: userID})
			var e *agentpay.Error
			if agentpay.ErrorKind(err) != kind || agentpay.ErrorCode(err) != code {
				t.Fatalf("want %s %s, got %v", kind, code, err)
			}
			if param != "" {
				if !errors.As(err, &e) || e.Param != param {
					t.Fatalf("want param %s, got %v", param, err)
				}
			}
		}
		mustFail(svc, "usr_nobody", agentpay.ENOTFOUND, "user_not_found", "")
		mustFail(svc, unverified, agentpay.EFORBIDDEN, "tier_unverified", "")
		capped := func(pp, pd, pm int64) *linking.Service {
			return &linking.Service{DB: a.db, Limits: agentpay.Limits{agentpay.TierContact: {"USD": {PerPayment: pp, PerDay: pd, PerMonth: pm}}}}
		}
		mustFail(capped(4999, 100000, 100000), contact, agentpay.EFORBIDDEN, "grant_exceeds_tier", "limits.per_payment")
		mustFail(capped(5000, 9999, 100000), contact, agentpay.EFORBIDDEN, "grant_exceeds_tier", "limits.per_day")
		mustFail(capped(5000, 10000, 49999), contact, agentpay.EFORBIDDEN, "grant_exceeds_tier", "limits.per_month")
		eurOnly := &linking.Service{DB: a.db, Limits: agentpay.Limits{agentpay.TierContact: {"EUR": {PerPayment: 1e6, PerDay: 1e6, PerMonth: 1e6}}}}
		mustFail(eurOnly, contact, agentpay.EFORBIDDEN, "grant_exceeds_tier", "limits.asset")
		// Nothing was written: the link is still pending, with no grant.
		if p, err := svc.Lookup(ctx, l.UserCode); err != nil || !p.DecisionsOutstanding {
			t.Fatalf("link after refusals %+v %v", p, err)
		}
		if n := a.count(`SELECT COUNT(*) FROM grants`); n != 0 {
			t.Fatalf("%d grants", n)
		}
		// Lowered to fit, a capped tier approves; limits are not clamped.
		lower := agentpay.GrantLimits{Asset: "USD", PerPayment: 4000, PerDay: 9000, PerMonth: 40000}
		g, err := capped(4000, 9000, 40000).Approve(ctx, l.UserCode, linking.Approval{UserID: contact, Limits: &lower})
		if err != nil || g.Limits != lower {
			t.Fatalf("approve within the tier: %+v %v", g, err)
		}
		// The default limits of tier 1 allow what the agent asked for.
		l = startLink(t, a)
		if g, err := svc.Approve(ctx, l.UserCode, linking.Approval{UserID: contact}); err != nil || g.Limits.PerMonth != 50000 {
			t.Fatalf("approve under default limits: %+v %v", g, err)
		}
	})
}

func TestAgentSuspension(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db1, db2 *store.DB) {
		n := newNode(t, db1, "", nil)
		n2 := newNode(t, db2, n.url, nil)
		a := &api{t: t, db: db1, url: n.url}
		none := agentauth.SignParams{}
		ag := linkAgent(t, n, linking.Approval{})
		bystander := linkAgent(t, n, linking.Approval{})
		suspension := func(path string, suspended bool) {
			t.Helper()
			r := a.post(path, "")
			mustStatus(t, r, 200)
			var out struct {
				Object    string `json:"object"`
				ID        string `json:"id"`
				Suspended bool   `json:"suspended"`
			}
			r.decode(t, &out)
			if out.Object != "agent_suspension" || out.Suspended != suspended {
				t.Fatalf("%s: %v", path, r)
			}
		}
		ok := func(ag linkedAgent) {
			t.Helper()
			mustStatus(t, n.send(ag.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 200)
		}
		refused := func(ag linkedAgent) {
			t.Helper()
			mustRefuse(t, n.send(ag.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 403, "agent_suspended")
			mustRefuse(t, n2.send(ag.sign(t, n.url, "POST", "/v1/agent/ping", `{}`, none), "k-"+randomHex(8)), 403, "agent_suspended")
		}

		// Only the operator may suspend; ids are checked.
		mustStatus(t, a.send(request{Method: "POST", Path: "/v1/agent-keys/" + ag.keyID + "/suspend", Key: "x", Token: new(string)}), 401)
		checkErrorShape(t, a.post("/v1/agent-keys/short/suspend", ""), 400, "invalid_id", "keyid")

		suspension("/v1/agent-keys/"+ag.keyID+"/suspend", true)
		suspension("/v1/agent-keys/"+ag.keyID+"/suspend", true)
		refused(ag)
		ok(bystander)
		// A suspended key cannot rotate its way out.
		_, jwk2 := newAgentKey(t)
		mustRefuse(t, n.send(ag.sign(t, n.url, "POST", "/v1/agent/keys/rotate", `{"public_key":`+jwk2+`}`, none), "rot"), 403, "agent_suspended")
		suspension("/v1/agent-keys/"+ag.keyID+"/resume", false)
		suspension("/v1/agent-keys/"+ag.keyID+"/resume", false)
		ok(ag)

		// A software id suspends every agent linked with it.
		suspension("/v1/software/com.example.helper/suspend", true)
		refused(ag)
		refused(bystander)
		suspension("/v1/software/com.example.helper/resume", false)
		ok(ag)
		ok(bystander)
		suspension("/v1/software/never.suspended/resume", false)
	})
}

func TestRevokeAllGrants(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		ctx := context.Background()
		n := newNode(t, db, "", nil)
		none := agentauth.SignParams{}
		user := mustUser(t, db, "", agentpay.TierContact)
		one := linkAgent(t, n, linking.Approval{UserID: user})
		two := linkAgent(t, n, linking.Approval{UserID: user})
		other := linkAgent(t, n, linking.Approval{})
		svc := &linking.Service{DB: db}
		if got, err := svc.RevokeAll(ctx, user); err != nil || got != 2 {
			t.Fatalf("revoke all: %d %v", got, err)
		}
		mustRefuse(t, n.send(one.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 401, "grant_revoked")
		mustRefuse(t, n.send(two.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 401, "grant_revoked")
		mustStatus(t, n.send(other.sign(t, n.url, "GET", "/v1/agent/grant", "", none), ""), 200)
		if got, err := svc.RevokeAll(ctx, user); err != nil || got != 0 {
			t.Fatalf("revoke all again: %d %v", got, err)
		}
	})
}
