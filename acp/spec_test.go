package acp_test

import (
	"bytes"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/agentpay/agentpay/acp"
	"github.com/agentpay/agentpay/acp/acptest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The embedded spec is every file of ACP 2026-04-17 with its license, and
// each file is what its tools read: the OpenAPI documents load, the JSON
// Schemas compile.
func TestSpecEmbedded(t *testing.T) {
	var files []string
	err := fs.WalkDir(acp.Spec, "spec", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"spec/LICENSE", "spec/NOTICE",
		"spec/json-schema/schema.agentic_checkout.json", "spec/json-schema/schema.cart.json",
		"spec/json-schema/schema.delegate_authentication.json", "spec/json-schema/schema.delegate_payment.json",
		"spec/json-schema/schema.discount.json", "spec/json-schema/schema.extension.json", "spec/json-schema/schema.feed.json",
		"spec/openapi/openapi.agentic_checkout.yaml", "spec/openapi/openapi.agentic_checkout_webhook.yaml",
		"spec/openapi/openapi.cart.yaml", "spec/openapi/openapi.delegate_authentication.yaml",
		"spec/openapi/openapi.delegate_payment.yaml", "spec/openapi/openapi.feed.yaml"}
	if !slices.Equal(files, want) {
		t.Fatalf("embedded %v, want %v", files, want)
	}
	license, _ := fs.ReadFile(acp.Spec, "spec/LICENSE")
	notice, _ := fs.ReadFile(acp.Spec, "spec/NOTICE")
	if !bytes.Contains(license, []byte("Apache License")) || !bytes.Contains(notice, []byte("c2afc86")) ||
		!bytes.Contains(notice, []byte(acp.SpecVersion)) {
		t.Fatal("LICENSE or NOTICE does not say what the files are")
	}

	for _, name := range []string{"feed", "agentic_checkout", "agentic_checkout_webhook", "cart", "delegate_payment", "delegate_authentication"} {
		// The checkout document gives some schemas a display_order beside
		// their keywords, which kin-openapi refuses unless told.
		doc, err := acptest.LoadOpenAPI(name, openapi3.AllowExtraSiblingFields("display_order"), openapi3.EnableMultiError())
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if doc.Info.Version != acp.SpecVersion {
			t.Errorf("openapi.%s.yaml is version %s", name, doc.Info.Version)
		}
	}
	for _, f := range want {
		if !strings.HasPrefix(f, "spec/json-schema/") {
			continue
		}
		raw, _ := fs.ReadFile(acp.Spec, f)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("file:///"+f, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := c.Compile("file:///" + f); err != nil {
			t.Errorf("%s does not compile: %v", f, err)
		}
	}
	if _, err := acp.OpenAPI("nope"); err == nil {
		t.Error("a missing spec file was found")
	}
}
