package x402

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// facilitatorBodyMax bounds what HTTPFacilitator reads from a facilitator.
const facilitatorBodyMax = 1 << 20

// HTTPFacilitator is a Facilitator reached over HTTP (spec §7): POST
// {URL}/verify, POST {URL}/settle and GET {URL}/supported, as the
// reference's HTTPFacilitatorClient calls them.
type HTTPFacilitator struct {
	// URL is the facilitator's base URL, e.g. https://pay.example/x402.
	URL string
	// Client sends the requests; nil means http.DefaultClient. Give it a
	// timeout: a paid request waits for the facilitator twice.
	Client *http.Client
	// Header is added to every request, e.g. for authentication.
	Header http.Header
}

// Verify implements Facilitator. A non-2xx answer whose body is still a
// VerifyResponse refusing the payment counts as that refusal, as in the
// reference client; any other answer is an error.
func (f *HTTPFacilitator) Verify(ctx context.Context, req *FacilitatorRequest) (*VerifyResponse, error) {
	status, body, err := f.do(ctx, http.MethodPost, "/verify", req)
	if err != nil {
		return nil, err
	}
	v, err := decodeVerifyResponse(body)
	if err != nil {
		return nil, fmt.Errorf("x402: facilitator verify answered %d with %w", status, err)
	}
	if status/100 != 2 && v.IsValid {
		return nil, fmt.Errorf("x402: facilitator verify answered %d with isValid true", status)
	}
	return v, nil
}

// Settle implements Facilitator, with the same treatment of non-2xx answers
// as Verify.
func (f *HTTPFacilitator) Settle(ctx context.Context, req *FacilitatorRequest) (*SettleResponse, error) {
	status, body, err := f.do(ctx, http.MethodPost, "/settle", req)
	if err != nil {
		return nil, err
	}
	s, err := decodeSettleResponse(body)
	if err != nil {
		return nil, fmt.Errorf("x402: facilitator settle answered %d with %w", status, err)
	}
	if status/100 != 2 && s.Success {
		return nil, fmt.Errorf("x402: facilitator settle answered %d with success true", status)
	}
	return s, nil
}

// Supported implements Facilitator.
func (f *HTTPFacilitator) Supported(ctx context.Context) (*SupportedResponse, error) {
	status, body, err := f.do(ctx, http.MethodGet, "/supported", nil)
	if err != nil {
		return nil, err
	}
	if status/100 != 2 {
		return nil, fmt.Errorf("x402: facilitator supported answered %d", status)
	}
	var s SupportedResponse
	if err := decodeStrict(body, &s); err != nil {
		return nil, fmt.Errorf("x402: facilitator supported: %w", err)
	}
	for _, k := range s.Kinds {
		if k.X402Version <= 0 || !validField(k.Scheme) || !validField(k.Network) {
			return nil, fmt.Errorf("x402: facilitator supported lists a malformed kind")
		}
	}
	return &s, nil
}

func (f *HTTPFacilitator) do(ctx context.Context, method, path string, in any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("x402: facilitator request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.URL, "/")+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("x402: facilitator request: %w", err)
	}
	for k, v := range f.Header {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("x402: facilitator %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, facilitatorBodyMax+1))
	if err != nil {
		return 0, nil, fmt.Errorf("x402: facilitator %s: %w", path, err)
	}
	if len(data) > facilitatorBodyMax {
		return 0, nil, fmt.Errorf("x402: facilitator %s answered more than %d bytes", path, facilitatorBodyMax)
	}
	return resp.StatusCode, data, nil
}
