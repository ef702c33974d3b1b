package ap2

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Selective disclosure (RFC 9901 §4.2, §7.1). A disclosure is the base64url
// of a JSON array [salt, name, value] (an object member) or [salt, value]
// (an array element); the payload holds only its digest, in the object's
// "_sd" array or as an array element {"...": digest}.

const (
	sdAlgSHA256 = "sha-256"
	sdKey       = "_sd"
	sdElemKey   = "..."
	// disclosuresMax bounds the disclosures of one SD-JWT; a mandate has a
	// few dozen at most.
	disclosuresMax = 512
)

// disclosure is one disclosure, encoded and decoded.
type disclosure struct {
	encoded string
	digest  string
	elem    bool   // an array element, [salt, value]
	name    string // the member name, for [salt, name, value]
	value   any
}

// sdBuilder collects the disclosures made while concealing parts of a
// payload.
type sdBuilder struct {
	disclosures []disclosure
}

// newDisclosure encodes value with a fresh 128-bit salt (RFC 9901 §4.2.1).
func (b *sdBuilder) newDisclosure(elem bool, name string, value any) (disclosure, error) {
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return disclosure{}, err
	}
	arr := []any{b64.EncodeToString(salt[:]), name, value}
	if elem {
		arr = []any{arr[0], value}
	}
	data, err := json.Marshal(arr)
	if err != nil {
		return disclosure{}, err
	}
	encoded := b64.EncodeToString(data)
	d := disclosure{encoded: encoded, digest: hashB64(encoded), elem: elem, name: name, value: value}
	b.disclosures = append(b.disclosures, d)
	return d, nil
}

// element replaces an array element by its digest placeholder.
func (b *sdBuilder) element(value any) (map[string]any, error) {
	d, err := b.newDisclosure(true, "", value)
	if err != nil {
		return nil, err
	}
	return map[string]any{sdElemKey: d.digest}, nil
}

// elements conceals every element of the array obj[name], if present.
func (b *sdBuilder) elements(obj map[string]any, name string) error {
	arr, ok := obj[name].([]any)
	if !ok {
		return nil
	}
	for i, v := range arr {
		placeholder, err := b.element(v)
		if err != nil {
			return err
		}
		arr[i] = placeholder
	}
	return nil
}

// member moves obj[name], if present, into obj's "_sd" array.
func (b *sdBuilder) member(obj map[string]any, name string) error {
	v, ok := obj[name]
	if !ok {
		return nil
	}
	d, err := b.newDisclosure(false, name, v)
	if err != nil {
		return err
	}
	delete(obj, name)
	digests, _ := obj[sdKey].([]any)
	digests = append(digests, d.digest)
	// Sorted digests do not reveal the order members were concealed in
	// (RFC 9901 §4.2.4.2 asks that _sd not leak the original order).
	sort.Slice(digests, func(i, j int) bool { return digests[i].(string) < digests[j].(string) })
	obj[sdKey] = digests
	return nil
}

// encoded returns the disclosures in the order they were made: inner ones
// first, the delegate_payload element last.
func (b *sdBuilder) encoded() []string {
	out := make([]string, len(b.disclosures))
	for i, d := range b.disclosures {
		out[i] = d.encoded
	}
	return out
}

// decodeDisclosure parses one encoded disclosure.
func decodeDisclosure(encoded string) (disclosure, error) {
	data, err := b64Decode(encoded)
	if err != nil {
		return disclosure{}, errors.New("a disclosure is not base64url")
	}
	var arr []any
	if err := decodeJSON(data, &arr); err != nil {
		return disclosure{}, errors.New("a disclosure is not a JSON array")
	}
	d := disclosure{encoded: encoded, digest: hashB64(encoded)}
	if len(arr) == 0 {
		return disclosure{}, errors.New("a disclosure is empty")
	}
	if _, ok := arr[0].(string); !ok {
		return disclosure{}, errors.New("a disclosure starts with its salt")
	}
	switch len(arr) {
	case 2:
		d.elem, d.value = true, arr[1]
	case 3:
		name, ok := arr[1].(string)
		if !ok || name == sdKey || name == sdElemKey || name == "_sd_alg" {
			return disclosure{}, errors.New("a disclosure names a member that cannot be disclosed")
		}
		d.name, d.value = name, arr[2]
	default:
		return disclosure{}, errors.New("a disclosure has two or three elements")
	}
	return d, nil
}

// sdProcessor rebuilds a payload from its digests and the disclosures
// presented with it (RFC 9901 §7.1 steps 3–5).
type sdProcessor struct {
	byDigest map[string]*disclosure
	used     map[string]bool
	seen     map[string]bool
}

// resolveDisclosures returns payload with every disclosed digest replaced
// by its value, undisclosed array elements removed and "_sd" members
// dropped. It fails when a disclosure is malformed or repeated, when a
// digest appears twice, when a disclosure is not referenced by the payload
// (an extra disclosure) or is of the wrong kind for where it is referenced,
// and when a disclosed member clashes with one already there.
func resolveDisclosures(payload map[string]any, encoded []string) (map[string]any, error) {
	if len(encoded) > disclosuresMax {
		return nil, fmt.Errorf("more than %d disclosures", disclosuresMax)
	}
	p := &sdProcessor{byDigest: map[string]*disclosure{}, used: map[string]bool{}, seen: map[string]bool{}}
	for _, e := range encoded {
		d, err := decodeDisclosure(e)
		if err != nil {
			return nil, err
		}
		if p.byDigest[d.digest] != nil {
			return nil, errors.New("a disclosure is presented twice")
		}
		p.byDigest[d.digest] = &d
	}
	out, err := p.object(payload, 0)
	if err != nil {
		return nil, err
	}
	if len(p.used) != len(p.byDigest) {
		return nil, errors.New("a disclosure is not referenced by the payload")
	}
	return out, nil
}

func (p *sdProcessor) value(v any, depth int) (any, error) {
	if depth > jsonDepthMax {
		return nil, errors.New("the payload is nested too deep")
	}
	switch t := v.(type) {
	case map[string]any:
		return p.object(t, depth+1)
	case []any:
		return p.array(t, depth+1)
	}
	return v, nil
}

// take marks digest seen and returns its disclosure, if presented.
func (p *sdProcessor) take(digest any) (*disclosure, error) {
	s, ok := digest.(string)
	if !ok {
		return nil, errors.New("a digest is not a string")
	}
	if p.seen[s] {
		return nil, errors.New("a digest appears twice")
	}
	p.seen[s] = true
	d := p.byDigest[s]
	if d != nil {
		p.used[s] = true
	}
	return d, nil
}

func (p *sdProcessor) object(obj map[string]any, depth int) (map[string]any, error) {
	out := make(map[string]any, len(obj))
	folded := make(map[string]bool, len(obj))
	for k, v := range obj {
		if k == sdKey {
			continue
		}
		pv, err := p.value(v, depth)
		if err != nil {
			return nil, err
		}
		out[k] = pv
		folded[foldKey(k)] = true
	}
	raw, ok := obj[sdKey]
	if !ok {
		return out, nil
	}
	digests, ok := raw.([]any)
	if !ok {
		return nil, errors.New("_sd is not an array")
	}
	for _, digest := range digests {
		d, err := p.take(digest)
		if err != nil {
			return nil, err
		}
		if d == nil {
			continue // withheld, or a decoy
		}
		if d.elem {
			return nil, errors.New("an array-element disclosure is referenced from _sd")
		}
		if folded[foldKey(d.name)] {
			return nil, errors.New("a disclosed member is already present")
		}
		pv, err := p.value(d.value, depth)
		if err != nil {
			return nil, err
		}
		out[d.name] = pv
		folded[foldKey(d.name)] = true
	}
	return out, nil
}

func (p *sdProcessor) array(arr []any, depth int) ([]any, error) {
	out := make([]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok && len(m) == 1 {
			if digest, ok := m[sdElemKey]; ok {
				d, err := p.take(digest)
				if err != nil {
					return nil, err
				}
				if d == nil {
					continue
				}
				if !d.elem {
					return nil, errors.New("an object-member disclosure is referenced from an array")
				}
				pv, err := p.value(d.value, depth)
				if err != nil {
					return nil, err
				}
				out = append(out, pv)
				continue
			}
		}
		pv, err := p.value(e, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, pv)
	}
	return out, nil
}
