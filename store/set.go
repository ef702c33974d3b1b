package store

import "sort"

// set is a set of ids.
type set map[string]struct{}

func (s set) add(id string) { s[id] = struct{}{} }

// list returns the ids sorted, so locks are always taken in id order.
func (s set) list() []string {
	out := make([]string, 0, len(s))
	for id := range s {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func union(a, b set) set {
	u := make(set, len(a)+len(b))
	for id := range a {
		u.add(id)
	}
	for id := range b {
		u.add(id)
	}
	return u
}
