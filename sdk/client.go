package sdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxRetries is the MaxRetries of new clients.
const DefaultMaxRetries = 3

// Bounds of the backoff between retries.
const (
	backoffBase = 200 * time.Millisecond
	backoffMax  = 5 * time.Second
)

// responseBytesMax bounds a response body the client reads.
const responseBytesMax = 4 << 20

// Error is an answer of the API outside 2xx.
type Error struct {
	Status  int    // the HTTP status
	Type    string // e.g. invalid_request_error, authentication_error
	Code    string // e.g. access_denied, insufficient_scope
	Message string
	Param   string // the parameter or header at fault, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("agentpay: %d %s", e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Param != "" {
		s += " (param " + e.Param + ")"
	}
	return s
}

// ErrorCode returns the Code of err if it is an *Error, else "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// parseError builds the *Error of a non-2xx response.
func parseError(status int, body []byte) *Error {
	var b struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	e := &Error{Status: status}
	if json.Unmarshal(body, &b) == nil && b.Error.Code != "" {
		e.Type, e.Code, e.Message, e.Param = b.Error.Type, b.Error.Code, b.Error.Message, b.Error.Param
		return e
	}
	e.Type, e.Code = "api_error", "http_"+strconv.Itoa(status)
	e.Message = strings.TrimSpace(string(body))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200]
	}
	return e
}

// transport is what Agent and Merchant share: where, how and how often.
type transport struct {
	httpClient *http.Client
	maxRetries int
	sleep      func(context.Context, time.Duration) error
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func mutatingMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// newIdempotencyKey returns 128 random bits.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// retryable reports whether a response status (with its error) may be retried.
func retryable(status int, e *Error) bool {
	return status >= 500 || status == http.StatusTooManyRequests ||
		(status == http.StatusConflict && e != nil && e.Code == "idempotency_in_flight")
}

// backoff is the wait before retry attempt (1-based), at least Retry-After.
func backoff(attempt int, retryAfter string) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	if s, err := strconv.Atoi(retryAfter); err == nil && s > 0 {
		d = max(d, min(time.Duration(s)*time.Second, backoffMax))
	}
	return d
}

// call is one logical request.
type call struct {
	method, url string
	body        []byte // nil: no body
	idempotent  bool   // send an Idempotency-Key (mutating methods)
	// prepare authenticates each attempt (signs it, or sets the bearer).
	prepare func(*http.Request, []byte) error
}

// UserAgent names the SDK in every request; the linking page shows it to
// the user as where the request came from.
var UserAgent = "agentpay-go-sdk/1"

// do runs c with retries and decodes a 2xx answer into out (if not nil).
func (t *transport) do(ctx context.Context, c call, out any) error {
	key := ""
	if c.idempotent {
		key = idempotencyKey(ctx) // once per logical call, reused by retries
	}
	hc := t.httpClient
	if hc == nil {
		hc = http.DefaultClient
	}
	sleep := t.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	retries := max(t.maxRetries, 0)
	var last error
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if c.body != nil {
			rd = bytes.NewReader(c.body)
		}
		req, err := http.NewRequestWithContext(ctx, c.method, c.url, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", UserAgent)
		if c.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		if c.prepare != nil {
			if err := c.prepare(req, c.body); err != nil {
				return err
			}
		}
		retryAfter := ""
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = err
		} else {
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, responseBytesMax))
			_ = resp.Body.Close()
			switch {
			case rerr != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				last = rerr
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				if out == nil || len(bytes.TrimSpace(data)) == 0 {
					return nil
				}
				if err := json.Unmarshal(data, out); err != nil {
					return fmt.Errorf("agentpay: cannot decode the response of %s %s: %w", c.method, c.url, err)
				}
				return nil
			default:
				e := parseError(resp.StatusCode, data)
				if !retryable(resp.StatusCode, e) {
					return e
				}
				last, retryAfter = e, resp.Header.Get("Retry-After")
			}
		}
		if attempt >= retries {
			return last
		}
		if err := sleep(ctx, backoff(attempt+1, retryAfter)); err != nil {
			return err
		}
	}
}

// marshalBody returns nil for a nil body and the JSON of any other.
func marshalBody(body any) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	if raw, ok := body.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("agentpay: cannot encode the request body: %w", err)
	}
	return b, nil
}
