package x402

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// jsonDepthMax bounds nesting; x402 messages are a few levels deep, and a
// bound keeps a hostile header from costing stack.
const jsonDepthMax = 32

// checkJSON accepts data only if it is one JSON object in valid UTF-8, with
// no member name repeated in any object and nothing after it. Parsers
// resolve duplicate names differently (first wins, last wins, error), so a
// message with duplicates could mean one thing to the party that checked it
// and another to the one that acts on it. Names are compared case-folded
// because encoding/json matches struct fields case-insensitively: "amount"
// and "Amount" in one object would otherwise be the same field to Go and
// two different ones to JavaScript.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	first, err := dec.Token()
	if err != nil {
		return errors.New("not valid JSON")
	}
	if first != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := walkJSON(dec, json.Delim('{'), 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// walkJSON reads the rest of the object or array opened by open.
func walkJSON(dec *json.Decoder, open json.Delim, depth int) error {
	if depth > jsonDepthMax {
		return errors.New("JSON nested too deeply")
	}
	var seen map[string]struct{}
	if open == '{' {
		seen = map[string]struct{}{}
	}
	for dec.More() {
		if open == '{' {
			tok, err := dec.Token()
			if err != nil {
				return errors.New("not valid JSON")
			}
			name, ok := tok.(string)
			if !ok {
				return errors.New("not valid JSON")
			}
			folded := strings.ToLower(name)
			if _, dup := seen[folded]; dup {
				return errors.New("member " + quoteShort(name) + " appears twice")
			}
			seen[folded] = struct{}{}
		}
		tok, err := dec.Token()
		if err != nil {
			return errors.New("not valid JSON")
		}
		if d, ok := tok.(json.Delim); ok {
			if err := walkJSON(dec, d, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return errors.New("not valid JSON")
	}
	return nil
}

// decodeStrict checks data with checkJSON and decodes it into v. Unknown
// members are ignored, as the reference implementation does, so newer
// peers that add optional members still interoperate.
func decodeStrict(data []byte, v any) error {
	if err := checkJSON(data); err != nil {
		return err
	}
	return unmarshalChecked(data, v)
}

// unmarshalChecked decodes data, which checkJSON has already accepted, into v.
func unmarshalChecked(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return errors.New("member " + quoteShort(typeErr.Field) + " has the wrong type")
		}
		return errors.New("not valid JSON for this message")
	}
	return nil
}

// quoteShort quotes s for an error message, cut to a length that cannot
// flood a log line.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// isJSONObjectOrAbsent reports whether raw is empty (the member was absent)
// or a JSON object. raw is assumed to be valid JSON already.
func isJSONObjectOrAbsent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || t[0] == '{'
}
