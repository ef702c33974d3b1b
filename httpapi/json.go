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
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body must be one JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		typeErr.Field = strings.TrimPrefix(typeErr.Field, "transferRequest.")
		e := agentpay.ParamErrorf(typeErr.Field, "invalid_type", "%s must be %s", typeErr.Field, describe(typeErr.Type.Kind().String()))
		if typeErr.Type.Kind().String() == "int64" {
			e.Code = "invalid_amount"
			e.Message = fmt.Sprintf("%s must be an integer number of minor units between -9223372036854775808 and 9223372036854775807", typeErr.Field)
		}
		return e
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return agentpay.Errorf(agentpay.EINVALID, "invalid_json", "the request body is not valid JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
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
