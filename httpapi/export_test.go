package httpapi

import (
	"net/http"

	"github.com/agentpay/agentpay"
)

// AgentForTest exposes the agent middleware, so tests can put a scope on a
// handler of their own.
func (s *Server) AgentForTest(scope agentpay.Scope, next http.HandlerFunc) http.Handler {
	return s.agent(scope, next)
}
