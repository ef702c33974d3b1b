package httpapi_test

import (
	"context"
	"testing"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/agentauth"
	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/linking"
	"github.com/agentpay/agentpay/store"
)

// pageUser is a user logged in on the pages: their session cookie and
// CSRF token.
type pageUser struct {
	id, cookie, csrf string
}

func logIn(t *testing.T, db *store.DB, tier agentpay.Tier) pageUser {
	t.Helper()
	id := mustUser(t, db, "", tier)
	c, sess, err := (&consent.Sessions{DB: db}).Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return pageUser{id: id, cookie: c.Name + "=" + c.Value, csrf: sess.CSRFToken}
}

// me sends a request to the /v1/me API as u, with the CSRF token csrf ("":
// none) and Idempotency-Key key ("": none).
func me(a *api, u pageUser, method, path, csrf, key, body string) response {
	a.t.Helper()
	h := map[string]string{}
	if u.cookie != "" {
		h["Cookie"] = u.cookie
	}
	if csrf != "" {
		h["X-CSRF-Token"] = csrf
	}
	return a.send(request{Method: method, Path: path, Key: key, Body: body, Token: new(string), Headers: h})
}

func mustError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if got, _ := errorCode(t, r); r.Status != status || got != code {
		t.Fatalf("%s: want %d %s, got %v", what, status, code, r)
	}
}

type myGrants struct {
	Object string `json:"object"`
	Data   []struct {
		Object        string `json:"object"`
		ID            string `json:"id"`
		AgentKeyID    string `json:"agent_key_id"`
		Status        string `json:"status"`
		AgentName     string `json:"agent_name"`
		SoftwareID    string `json:"software_id"`
		AgentVerified bool   `json:"agent_verified"`
		Limits        struct {
			PerPayment int64 `json:"per_payment"`
		} `json:"limits"`
	} `json:"data"`
	HasMore bool `json:"has_more"`
}

func TestMeGrants(t *testing.T) {
	forEachSharedDB(t, func(t *testing.T, db, _ *store.DB) {
		// Pages need a host name: WebAuthn refuses an IP address as relying
		// party, and sessions come with the pages.
		const base = "http://localhost:8080"
		n := newNode(t, db, base, nil)
		a := &api{t: t, db: db, url: n.url}
		ada, bob := logIn(t, db, agentpay.TierContact), logIn(t, db, agentpay.TierContact)
		one := linkAgent(t, n, linking.Approval{UserID: ada.id})
		two := linkAgent(t, n, linking.Approval{UserID: ada.id})
		bobs := linkAgent(t, n, linking.Approval{UserID: bob.id})
		statuses := func(what string, want map[string]agentpay.GrantStatus) {
			t.Helper()
			for id, s := range want {
				g, err := db.Grant(context.Background(), id)
				if err != nil || g.Status != s {
					t.Fatalf("%s: grant %s is %s (%v), want %s", what, id, g.Status, err, s)
				}
			}
		}
		active := map[string]agentpay.GrantStatus{one.grantID: agentpay.GrantActive, two.grantID: agentpay.GrantActive,
			bobs.grantID: agentpay.GrantActive}

		mustError(t, "list without a session", me(a, pageUser{}, "GET", "/v1/me/grants", "", "", ""), 401, "session_required")
		mustError(t, "list with a made-up cookie", me(a, pageUser{cookie: consent.SessionCookie + "=" + consent.RandomToken()},
			"GET", "/v1/me/grants", "", "", ""), 401, "session_required")
		r := me(a, ada, "GET", "/v1/me/grants", "", "", "")
		mustStatus(t, r, 200)
		var list myGrants
		r.decode(t, &list)
		if list.Object != "list" || len(list.Data) != 2 || list.HasMore || list.Data[0].ID != two.grantID || list.Data[1].ID != one.grantID {
			t.Fatalf("list: %v", r)
		}
		for _, g := range list.Data {
			if g.Object != "grant" || g.Status != "active" || g.AgentName != "Shopping Helper" || g.SoftwareID != "com.example.helper" ||
				g.AgentVerified || g.AgentKeyID == "" || g.Limits.PerPayment != 5000 {
				t.Fatalf("grant in list: %+v", g)
			}
		}

		revokeOne := "/v1/me/grants/" + one.grantID + "/revoke"
		for _, c := range []struct {
			name, path, csrf, key string
			user                  pageUser
			status                int
			code                  string
		}{
			{"no session", revokeOne, ada.csrf, "k1", pageUser{}, 401, "session_required"},
			{"no CSRF token", revokeOne, "", "k1", ada, 403, "csrf_failed"},
			{"another session's CSRF token", revokeOne, bob.csrf, "k1", ada, 403, "csrf_failed"},
			{"no Idempotency-Key", revokeOne, ada.csrf, "", ada, 400, "idempotency_key_required"},
			{"another user's grant", "/v1/me/grants/" + bobs.grantID + "/revoke", ada.csrf, "k2", ada, 404, "grant_not_found"},
			{"unknown grant", "/v1/me/grants/grt_nope/revoke", ada.csrf, "k3", ada, 404, "grant_not_found"},
			{"revoke-all without CSRF token", "/v1/me/grants/revoke-all", "", "k4", ada, 403, "csrf_failed"},
			{"revoke-all without Idempotency-Key", "/v1/me/grants/revoke-all", ada.csrf, "", ada, 400, "idempotency_key_required"},
		} {
			mustError(t, c.name, me(a, c.user, "POST", c.path, c.csrf, c.key, ""), c.status, c.code)
			statuses(c.name, active)
		}

		// Revoke one: the agent's next request is refused; a retry with the
		// key gets the first answer back, another body under it is 422.
		first := me(a, ada, "POST", revokeOne, ada.csrf, "revoke-one", "")
		mustStatus(t, first, 200)
		var g struct{ ID, Status string }
		first.decode(t, &g)
		if g.ID != one.grantID || g.Status != "revoked" || first.replayed() {
			t.Fatalf("revoke: %v", first)
		}
		none := agentauth.SignParams{}
		mustRefuse(t, n.send(one.sign(t, base, "GET", "/v1/agent/grant", "", none), ""), 401, "grant_revoked")
		mustStatus(t, n.send(two.sign(t, base, "GET", "/v1/agent/grant", "", none), ""), 200)
		again := me(a, ada, "POST", revokeOne, ada.csrf, "revoke-one", "{}")
		if !again.replayed() || again.Status != 200 || string(again.Body) != string(first.Body) {
			t.Fatalf("replay: %v", again)
		}
		mustError(t, "another body under the key", me(a, ada, "POST", revokeOne, ada.csrf, "revoke-one", `{"x":1}`), 422, "idempotency_conflict")
		mustError(t, "unknown field", me(a, ada, "POST", revokeOne, ada.csrf, "revoke-one-x", `{"x":1}`), 400, "unknown_field")
		statuses("after revoking one", map[string]agentpay.GrantStatus{one.grantID: agentpay.GrantRevoked,
			two.grantID: agentpay.GrantActive, bobs.grantID: agentpay.GrantActive})

		// Revoke all: how many, and a replay does not run again, so an agent
		// linked after it keeps its grant.
		r = me(a, ada, "POST", "/v1/me/grants/revoke-all", ada.csrf, "all", "")
		mustStatus(t, r, 200)
		var all struct {
			Object  string   `json:"object"`
			Revoked int      `json:"revoked"`
			Grants  []string `json:"grants"`
		}
		r.decode(t, &all)
		if all.Object != "grant_revocation" || all.Revoked != 1 || len(all.Grants) != 1 || all.Grants[0] != two.grantID {
			t.Fatalf("revoke all: %v", r)
		}
		mustRefuse(t, n.send(two.sign(t, base, "GET", "/v1/agent/grant", "", none), ""), 401, "grant_revoked")
		three := linkAgent(t, n, linking.Approval{UserID: ada.id})
		replay := me(a, ada, "POST", "/v1/me/grants/revoke-all", ada.csrf, "all", "")
		if !replay.replayed() || string(replay.Body) != string(r.Body) {
			t.Fatalf("revoke-all replay: %v", replay)
		}
		statuses("after the replay", map[string]agentpay.GrantStatus{three.grantID: agentpay.GrantActive, bobs.grantID: agentpay.GrantActive})

		// Keys are scoped to the user: bob's "all" is his own request.
		r = me(a, bob, "POST", "/v1/me/grants/revoke-all", bob.csrf, "all", "")
		r.decode(t, &all)
		if r.Status != 200 || r.replayed() || all.Revoked != 1 || all.Grants[0] != bobs.grantID {
			t.Fatalf("bob's revoke-all: %v", r)
		}
		statuses("after bob's revoke-all", map[string]agentpay.GrantStatus{three.grantID: agentpay.GrantActive, bobs.grantID: agentpay.GrantRevoked})
		r = me(a, bob, "GET", "/v1/me/grants", "", "", "")
		if r.Status != 200 || string(r.Body) != `{"object":"list","data":[],"has_more":false}`+"\n" {
			t.Fatalf("bob's empty list: %v", r)
		}
	})
}
