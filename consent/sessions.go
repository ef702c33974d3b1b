package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/agentpay/agentpay"
	"github.com/agentpay/agentpay/store"
)

// SessionTTL is how long a page session lasts.
const SessionTTL = 12 * time.Hour

// SessionCookie is the name of the session cookie.
const SessionCookie = "agentpay_session"

// Sessions opens, reads and closes page sessions. The cookie carries a
// random token; the store keeps only its SHA-256 as the session's id.
type Sessions struct {
	DB *store.DB
	// Secure sets the cookie's Secure attribute; see SecureCookies.
	Secure bool
	Now    func() time.Time // nil: time.Now
}

// SecureCookies reports whether cookies for a public base URL must be
// Secure: always, unless its host is localhost or 127.0.0.1 (development
// over plain HTTP).
func SecureCookies(publicBaseURL string) bool {
	u, err := url.Parse(publicBaseURL)
	if err != nil {
		return true
	}
	h := u.Hostname()
	return h != "localhost" && h != "127.0.0.1"
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// RandomToken returns 32 random bytes in hex.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func sessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Open starts a session for a user and returns its cookie.
func (s *Sessions) Open(ctx context.Context, userID string) (*http.Cookie, store.Session, error) {
	token := RandomToken()
	now := s.now()
	sess := store.Session{ID: sessionID(token), UserID: userID, CSRFToken: RandomToken(), CreatedAt: now.UnixMicro(),
		ExpiresAt: now.Add(SessionTTL).UnixMicro(), Version: 1}
	if res := s.DB.Committer.Submit(ctx, &store.Unit{Rows: []store.Row{sess.Row()}}); res.Err != nil {
		return nil, store.Session{}, res.Err
	}
	return s.Cookie(token, SessionTTL), sess, nil
}

// Cookie returns a session cookie with value and lifetime maxAge (negative:
// delete it).
func (s *Sessions) Cookie(value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}

// Lookup returns the live session of a request's cookie; none is
// unauthorized (session_required).
func (s *Sessions) Lookup(ctx context.Context, r *http.Request) (store.Session, error) {
	none := agentpay.Errorf(agentpay.EUNAUTHORIZED, "session_required", "log in first")
	c, err := r.Cookie(SessionCookie)
	if err != nil || len(c.Value) != 64 {
		return store.Session{}, none
	}
	sess, err := s.DB.Session(ctx, sessionID(c.Value))
	if agentpay.ErrorKind(err) == agentpay.ENOTFOUND {
		return store.Session{}, none
	}
	if err != nil {
		return store.Session{}, err
	}
	if s.now().UnixMicro() >= sess.ExpiresAt {
		return store.Session{}, none
	}
	return sess, nil
}

// Close ends a session: it expires now.
func (s *Sessions) Close(ctx context.Context, sess store.Session) error {
	res := s.DB.Committer.Submit(ctx, &store.Unit{Updates: []store.Update{{Table: store.SessionsTable, Key: sess.ID,
		Version: sess.Version, Set: []string{"expires_at"}, Values: []any{s.now().UnixMicro()}}}})
	if agentpay.ErrorCode(res.Err) == "version_conflict" {
		return nil // closed already
	}
	return res.Err
}

// CheckCSRF checks that a state-changing request carries want, the CSRF
// token of its session (or of its anonymous CSRF cookie), in the form field
// csrf_token or the X-CSRF-Token header; otherwise forbidden (csrf_failed).
func CheckCSRF(r *http.Request, want string) error {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return agentpay.Errorf(agentpay.EFORBIDDEN, "csrf_failed", "the request's CSRF token is missing or wrong; reload the page")
	}
	return nil
}
