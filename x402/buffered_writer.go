package x402

import (
	"bytes"
	"errors"
	"net/http"
)

var errResponseTooLarge = errors.New("x402: the response exceeds Config.ResponseBytesMax")

// bufferedWriter holds a paid handler's response until the payment
// settles: a response whose payment fails must never reach the client, so
// nothing may be written through early. It deliberately implements neither
// Flush nor Unwrap, so http.ResponseController cannot reach the real
// writer either.
type bufferedWriter struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	max      int
	overflow bool
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 && code >= 200 {
		b.status = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.overflow || b.body.Len()+len(p) > b.max {
		b.overflow = true
		return 0, errResponseTooLarge
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) statusCode() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

// sendTo writes the held response to w.
func (b *bufferedWriter) sendTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	w.WriteHeader(b.statusCode())
	_, _ = w.Write(b.body.Bytes())
}
