package httpapi

import (
	"net/http"
	"sync"

	"github.com/agentpay/agentpay/consent"
	"github.com/agentpay/agentpay/identity"
	"github.com/agentpay/agentpay/web"
)

// webMount builds the user's pages on first use: their WebAuthn relying
// party (RP ID = the host of PublicBaseURL without port, origin =
// scheme://host[:port]) and cookies' Secure attribute depend on
// PublicBaseURL, which may be set after NewServer.
type webMount struct {
	once sync.Once
	h    *web.Handler
	err  error
}

func (s *Server) webHandler() (*web.Handler, error) {
	s.web.once.Do(func() {
		base := s.baseURL()
		pk, err := consent.NewPasskeys(s.DB, base)
		if err != nil {
			s.web.err = err
			return
		}
		// The notifier is set after NewServer, before the first request.
		ids := s.Identity
		if ids.Notifier == nil {
			ids.Notifier = s.Notifier
		}
		h := web.New(ids, pk, &consent.Sessions{DB: s.DB, Secure: consent.SecureCookies(base)})
		h.Links = s.Links
		h.Payments = s.Payments
		h.DevTopUp = s.DevTopUp
		h.OperatorTokenSHA256 = s.AdminTokenSHA256
		h.Code = &identity.CodeVerifier{Service: ids}
		h.Document = &identity.DocumentVerifier{Service: ids}
		h.WriteError = s.writeError
		s.web.h = h
	})
	return s.web.h, s.web.err
}

func (s *Server) webRoutes() {
	for _, pattern := range web.Routes() {
		s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			h, err := s.webHandler()
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}
