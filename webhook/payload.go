package webhook

import (
	"encoding/json"
	"time"

	"github.com/agentpay/agentpay/store"
)

// Payload is the body of a webhook: the event as the merchant sees it.
// ID is also the webhook-id header; Seq orders the events of one object.
type Payload struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	ObjectID  string          `json:"object_id"`
	Seq       int64           `json:"seq"`
	CreatedAt string          `json:"created_at"` // RFC 3339, UTC
	Data      json.RawMessage `json:"data"`
}

// Body returns the JSON body of an event's webhook. The same event always
// makes the same bytes, so every attempt signs and sends the same body.
func Body(e store.Event) []byte {
	data := json.RawMessage(e.Data)
	if !json.Valid(data) {
		// Events are written by agentpay as JSON; if one is not, it is
		// still delivered, as a JSON string, rather than never.
		b, _ := json.Marshal(e.Data)
		data = b
	}
	b, err := json.Marshal(Payload{ID: e.ID, Type: e.Type, ObjectID: e.ObjectID, Seq: e.Seq,
		CreatedAt: time.UnixMicro(e.CreatedAt).UTC().Format(time.RFC3339Nano), Data: data})
	if err != nil {
		panic("webhook: encode payload: " + err.Error()) // valid raw JSON and strings always encode
	}
	return b
}
