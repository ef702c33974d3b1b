package mcpserver

import (
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
)

// props are the properties of an input schema, by name.
type props map[string]*jsonschema.Schema

// inputSchema is the JSON schema inferred from T (descriptions from the
// jsonschema tags, required fields those without omitempty), with bounds
// and enums the Go types cannot say added by tweak. It panics on a type
// that has no schema: tools are registered at start.
func inputSchema[T any](tweak func(props)) *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: schema of %T: %v", *new(T), err))
	}
	if tweak != nil {
		tweak(s.Properties)
	}
	return s
}
