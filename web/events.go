package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/agentpay/agentpay"
)

// Server-sent events (text/event-stream) keep the pages current: a stream
// sends a snapshot when it opens and again whenever its bus topic wakes
// (the bus carries no data: the snapshot is read again), skipping
// snapshots equal to the last one sent.
const (
	// EventHeartbeat is how often an idle stream sends a comment, so
	// proxies and the browser keep the connection.
	EventHeartbeat = 15 * time.Second
	// EventStreamMax bounds one stream; the browser's EventSource then
	// reconnects (after EventRetry) and gets a fresh snapshot.
	EventStreamMax = 10 * time.Minute
	// EventRetry is the reconnection delay the stream asks for.
	EventRetry = 3 * time.Second
	// eventWriteGrace is how long one write may take before the stream is
	// given up (the server's own WriteTimeout is lifted for streams).
	eventWriteGrace = 30 * time.Second
)

// flushable reports whether w (or a writer it wraps, through Unwrap) can
// flush, as http.ResponseController would find it.
func flushable(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case http.Flusher:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

// serveEvents streams read's snapshots as events named event whenever
// topic wakes, with a heartbeat, until the client goes away or
// EventStreamMax passes. Errors before the stream starts are answered as
// usual; after, the stream ends and the browser reconnects.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request, topic, event string, read func(context.Context) (any, error)) {
	if !flushable(w) {
		h.writeError(w, r, agentpay.Errorf(agentpay.EUNAVAILABLE, "streaming_unsupported", "this server cannot stream events"))
		return
	}
	// Subscribe before the first read, so no change falls between them.
	wake, cancel := h.Payments.DB.Bus.Subscribe(topic)
	defer cancel()
	ctx, stop := context.WithTimeout(r.Context(), EventStreamMax)
	defer stop()
	first, err := read(ctx)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// The server's WriteTimeout is for ordinary responses: a stream lives
	// up to EventStreamMax, each of its writes up to eventWriteGrace. (Its
	// read deadline is lifted by net/http once the request is read.)
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // proxies must not buffer the stream
	w.WriteHeader(http.StatusOK)

	write := func(b []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(eventWriteGrace)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	var last []byte
	send := func(v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if string(data) == string(last) {
			return nil
		}
		last = data
		// JSON has no raw newlines, so the data is one line.
		return write([]byte("event: " + event + "\ndata: " + string(data) + "\n\n"))
	}
	if err := write([]byte("retry: " + strconv.Itoa(int(EventRetry/time.Millisecond)) + "\n\n")); err != nil {
		return
	}
	if err := send(first); err != nil {
		return
	}
	heartbeat := time.NewTicker(EventHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			v, err := read(ctx)
			if err != nil {
				return
			}
			if err := send(v); err != nil {
				return
			}
		case <-heartbeat.C:
			if err := write([]byte(": heartbeat\n\n")); err != nil {
				return
			}
		}
	}
}
