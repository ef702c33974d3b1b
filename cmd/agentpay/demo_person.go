package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"time"

	"github.com/agentpay/agentpay/consent/consenttest"
	"github.com/go-webauthn/webauthn/protocol"
)

// softwarePerson plays the person for --auto: it does what a browser does
// for someone who opens the printed link, over HTTP, with a software
// passkey (consent/consenttest) in place of the browser's authenticator.
// Nothing is skipped: the one-time link and its session, the passkey's
// registration through /webauthn/register/begin|finish and the approval
// ceremony through /pay/{id}/approve/begin|finish, so the server checks
// every signature as it would a person's.
type softwarePerson struct {
	base    string
	client  *http.Client
	passkey *consenttest.Authenticator
	csrf    string
}

func newSoftwarePerson(base string) (*softwarePerson, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	a, err := consenttest.NewAuthenticator(base)
	if err != nil {
		return nil, err
	}
	return &softwarePerson{base: base, client: &http.Client{Jar: jar, Timeout: 15 * time.Second}, passkey: a}, nil
}

// credentialID is the passkey's id as agentpay stores it.
func (p *softwarePerson) credentialID() string {
	return base64.RawURLEncoding.EncodeToString(p.passkey.ID)
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([0-9a-f]+)">`)

// get loads a page, following redirects, and says where it ended.
func (p *softwarePerson) get(ctx context.Context, path string) (landed string, page []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	page, err = io.ReadAll(resp.Body)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(page))
	}
	return resp.Request.URL.Path, page, nil
}

// post sends JSON as the pages' JavaScript does, with the session's CSRF
// token, and decodes the answer into out.
func (p *softwarePerson) post(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", p.csrf)
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(answer))
	}
	return json.Unmarshal(answer, out)
}

// approve opens link (the one-time /demo/start link), registers the
// passkey, opens the payment's page and approves version with the passkey.
func (p *softwarePerson) approve(ctx context.Context, link, paymentID string, version int64) error {
	landed, page, err := p.get(ctx, link)
	if err != nil {
		return err
	}
	m := csrfMeta.FindSubmatch(page)
	if landed != "/demo/passkey" || m == nil {
		return fmt.Errorf("the demo link led to %s, not the passkey page", landed)
	}
	p.csrf = string(m[1])

	var registration struct {
		Ceremony string                       `json:"ceremony"`
		Options  *protocol.CredentialCreation `json:"options"`
	}
	if err := p.post(ctx, "/webauthn/register/begin", []byte(`{}`), &registration); err != nil {
		return err
	}
	created, err := p.passkey.CreateResponse(registration.Options)
	if err != nil {
		return err
	}
	var registered struct {
		Registered bool `json:"registered"`
	}
	if err := p.post(ctx, "/webauthn/register/finish?ceremony="+url.QueryEscape(registration.Ceremony), created, &registered); err != nil {
		return err
	}
	if !registered.Registered {
		return fmt.Errorf("the passkey was not registered")
	}

	// With a passkey, the passkey page forwards to the approval page.
	payPage := "/pay/" + url.PathEscape(paymentID)
	if landed, _, err = p.get(ctx, "/demo/passkey"); err != nil {
		return err
	}
	if landed != payPage {
		return fmt.Errorf("after registering, the passkey page led to %s, not %s", landed, payPage)
	}

	decision, _ := json.Marshal(map[string]any{"version": version, "share": []string{}})
	var begun struct {
		Ceremony string                        `json:"ceremony"`
		Options  *protocol.CredentialAssertion `json:"options"`
	}
	if err := p.post(ctx, payPage+"/approve/begin", decision, &begun); err != nil {
		return err
	}
	if begun.Options == nil {
		return fmt.Errorf("the approval page started no passkey ceremony")
	}
	assertion, err := p.passkey.GetResponse(begun.Options)
	if err != nil {
		return err
	}
	var approved struct {
		Status string `json:"status"`
	}
	if err := p.post(ctx, payPage+"/approve/finish?ceremony="+url.QueryEscape(begun.Ceremony), assertion, &approved); err != nil {
		return err
	}
	if approved.Status != "authorized" {
		return fmt.Errorf("the approved payment is %s, not authorized", approved.Status)
	}
	return nil
}
