package agentpay

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// NewID returns a new prefixed, sortable, random id such as
// "trf_01jd5x8m2v6q0c9k7r3t4w5y6z": the prefix, an underscore, and 26
// characters of Crockford base32 holding a 48-bit millisecond timestamp and 80
// random bits (the TypeID/UUIDv7 layout). Ids made by one process in the same
// millisecond still sort in the order they were made, so B-tree inserts stay
// at the right edge of the index.
func NewID(prefix string) string {
	var b [16]byte
	idMu.Lock()
	ms := uint64(time.Now().UnixMilli())
	if ms <= idLastMS {
		// Same millisecond (or the clock went back): keep order by counting up
		// from the last id's random part.
		ms = idLastMS
		idLastRand[9]++
		for i := 9; i > 0 && idLastRand[i] == 0; i-- {
			idLastRand[i-1]++
		}
	} else {
		idLastMS = ms
		if _, err := rand.Read(idLastRand[:]); err != nil {
			panic("agentpay: crypto/rand failed: " + err.Error()) // the OS has no entropy: nothing is safe
		}
		idLastRand[0] &= 0x7f // leave room to count up without wrapping
	}
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], ms)
	copy(b[:6], t[2:])
	copy(b[6:], idLastRand[:])
	idMu.Unlock()
	return prefix + "_" + encodeBase32(b)
}

var (
	idMu       sync.Mutex
	idLastMS   uint64
	idLastRand [10]byte
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// encodeBase32 encodes 128 bits as 26 base32 characters, the first holding
// the top 3 bits, as TypeID does.
func encodeBase32(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether id is a plausible client-chosen id: 1 to 64 bytes of
// ASCII letters, digits, '_' and '-'. Ids end up in URLs, logs and SQL
// parameters, so nothing else is allowed.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > TransferIDLengthMax {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
