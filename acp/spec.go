// Package acp holds agentpay's side of the Agentic Commerce Protocol: the
// protocol's own specification files (embedded, so that what agentpay
// accepts and sends is checked against them at run time and in tests) and
// the product feed a merchant publishes so that agents can find what it
// sells. It knows nothing of HTTP or storage.
package acp

import (
	"embed"
	"fmt"
	"io/fs"
)

// SpecVersion is the ACP specification version the embedded files are.
const SpecVersion = "2026-04-17"

// Spec holds the ACP specification files, unchanged, as spec/openapi/*.yaml
// and spec/json-schema/*.json, with their LICENSE and a NOTICE saying where
// they come from.
//
//go:embed spec/LICENSE spec/NOTICE spec/openapi/*.yaml spec/json-schema/*.json
var Spec embed.FS

// OpenAPI returns the OpenAPI document named name: "feed" is
// spec/openapi/openapi.feed.yaml.
func OpenAPI(name string) ([]byte, error) {
	return readSpec("spec/openapi/openapi." + name + ".yaml")
}

// JSONSchema returns the JSON Schema bundle named name: "feed" is
// spec/json-schema/schema.feed.json.
func JSONSchema(name string) ([]byte, error) {
	return readSpec("spec/json-schema/schema." + name + ".json")
}

func readSpec(path string) ([]byte, error) {
	b, err := fs.ReadFile(Spec, path)
	if err != nil {
		return nil, fmt.Errorf("acp: no spec file %s: %w", path, err)
	}
	return b, nil
}
