package identity

import (
	"context"
	"log/slog"
)

// Channels a Notifier delivers through.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Notifier delivers a message to a person: an email or a text message.
// Messages may hold secrets (one-time codes): an implementation must not log
// or keep them beyond delivery.
type Notifier interface {
	Send(ctx context.Context, channel, destination, message string) error
}

// LogNotifier is the DEVELOPMENT notifier: instead of sending anything it
// writes the message, one-time codes included, to the log, so a developer
// can sign up and verify without a mail or SMS provider. It defeats the
// point of a one-time code and must never run in production; it is the only
// place codes are ever logged.
type LogNotifier struct {
	Log *slog.Logger // nil: slog.Default()
}

// Send logs the message.
func (n LogNotifier) Send(ctx context.Context, channel, destination, message string) error {
	log := n.Log
	if log == nil {
		log = slog.Default()
	}
	log.WarnContext(ctx, "development notifier: message not sent, logged instead",
		"channel", channel, "destination", destination, "message", message)
	return nil
}
