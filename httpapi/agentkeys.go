package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// rotateAgentKey is POST /v1/agent/keys/rotate: signed by the agent's
// current key, it moves the grant to the key in the body in one versioned
// update, so the old key is refused (unknown_key) from the next request.
func (s *Server) rotateAgentKey(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
	var req struct {
		PublicKey json.RawMessage `json:"public_key"`
	}
	if err := decode(body, &req); err != nil {
		return nil, nil, err
	}
	if len(req.PublicKey) == 0 || string(req.PublicKey) == "null" {
		return nil, nil, agentpay.ParamErrorf("public_key", "missing_field", "public_key is required: the new key as a JWK")
	}
	g, unit, err := s.Links.PrepareRotate(r.Context(), agentFrom(r).Grant, req.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return unit, func(store.Result) (int, any) { return http.StatusOK, toGrantJSON(g) }, nil
}

// agentSuspensionJSON answers the operator's suspend and resume routes.
type agentSuspensionJSON struct {
	Object    string `json:"object"`
	ID        string `json:"id"`
	Suspended bool   `json:"suspended"`
}

// setAgentSuspension is POST /v1/agent-keys/{keyid}/suspend and /resume
// (kind "key") and POST /v1/software/{software_id}/suspend and /resume
// (kind "software"). Suspending takes effect at the next signed request,
// which is refused with 403 agent_suspended; repeating either is a no-op.
func (s *Server) setAgentSuspension(kind string, suspend bool) mutation {
	return func(r *http.Request, body []byte) (*store.Unit, func(store.Result) (int, any), error) {
		if err := decode(body, &struct{}{}); err != nil {
			return nil, nil, err
		}
		var name string
		if kind == "key" {
			name = r.PathValue("keyid")
			if len(name) != 43 || !agentpay.ValidID(name) {
				return nil, nil, agentpay.ParamErrorf("keyid", "invalid_id", "an agent key id is a JWK thumbprint: 43 base64url characters")
			}
		} else {
			name = r.PathValue("software_id")
			if err := agentpay.ValidateAgentText("software_id", name); err != nil {
				return nil, nil, err
			}
		}
		id := store.AgentSuspensionID(kind, name)
		cur, found, err := s.DB.AgentSuspensionByID(r.Context(), id)
		if err != nil {
			return nil, nil, err
		}
		unit := &store.Unit{}
		switch {
		case !found && suspend:
			unit.Rows = []store.Row{store.AgentSuspension{ID: id, Suspended: true, CreatedAt: time.Now().UnixMicro()}.Row()}
		case found && cur.Suspended != suspend:
			var v int64
			if suspend {
				v = 1
			}
			unit.Updates = []store.Update{{Table: store.AgentSuspensionsTable, Key: id, Version: cur.Version,
				Set: []string{"suspended"}, Values: []any{v}}}
		}
		out := agentSuspensionJSON{Object: "agent_suspension", ID: id, Suspended: suspend}
		return unit, func(store.Result) (int, any) { return http.StatusOK, out }, nil
	}
}
