package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/agentpay/agentpay"
)

// decode parses a JSON object strictly: unknown fields, trailing data and
// wrong types are 400s that name the field.
func decode(body []byte, v any) error { return decodeAt(body, v, "") }

// decodeAt is decode for a part of the body: prefix (e.g. "transfers[2].")
// goes before the field an error names, so that the error of a linked
// group says which of its transfers is wrong (encoding/json's own field
// path, "transfers.amount", has no index).
func decodeAt(body []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, prefix)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body must be one JSON object")
	}
	return nil
}

func jsonError(err error, prefix string) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := prefix + strings.TrimPrefix(typeErr.Field, "transferRequest.")
		if typeErr.Field == "" {
			// The value itself has the wrong type: the body (or a transfer
			// of a group) is not an object. Naming an empty field would
			// give the message " must be an object".
			if prefix == "" {
				return agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body must be one JSON object")
			}
			field = strings.TrimSuffix(prefix, ".")
		}
		e := agentpay.ParamErrorf(field, "invalid_type", "%s must be %s", field, describe(typeErr.Type.Kind().String()))
		if typeErr.Type.Kind().String() == "int64" {
			e.Code = "invalid_amount"
			e.Message = fmt.Sprintf("%s must be an integer number of minor units between -9223372036854775808 and 9223372036854775807", field)
		}
		return e
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := prefix + strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return agentpay.ParamErrorf(field, "unknown_field", "unknown field %q", field)
	}
	return agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON")
}

func describe(kind string) string {
	switch kind {
	case "int64", "int":
		return "an integer"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "of another type"
}

func marshal(v any) ([]byte, error) { return json.Marshal(v) }
