package store

import "sync"

// Bus wakes long-polls when something they wait for has committed. It carries
// no data, only the name of what changed (a topic such as a payment id):
// waiters re-read the database, so a lost or duplicated wake-up costs a read,
// never correctness. On SQLite the committer publishes after each commit; on
// PostgreSQL every node publishes what arrives through LISTEN.
type Bus struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[string]map[chan struct{}]struct{}{}} }

// Subscribe returns a channel that receives after each Publish of topic, and
// a function that ends the subscription. Wake-ups coalesce: a subscriber that
// is slow to read sees one.
func (b *Bus) Subscribe(topic string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.subs[topic] == nil {
		b.subs[topic] = map[chan struct{}]struct{}{}
	}
	b.subs[topic][ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs[topic], ch)
		if len(b.subs[topic]) == 0 {
			delete(b.subs, topic)
		}
		b.mu.Unlock()
	}
}

// Publish wakes every subscriber of topic without blocking.
func (b *Bus) Publish(topic string) {
	b.mu.Lock()
	for ch := range b.subs[topic] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
}
