// Package acptest helps tests check agentpay's ACP endpoints against the
// protocol's OpenAPI documents (embedded in package acp) with kin-openapi.
package acptest

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/agentpay/agentpay/acp"
	"github.com/getkin/kin-openapi/openapi3"
)

// LoadOpenAPI loads the ACP OpenAPI document named name ("feed" is
// spec/openapi/openapi.feed.yaml) and validates it, examples aside, with
// opts. The references it makes to other spec files (../json-schema/…)
// are read from the embedded spec, never from the network or the disk.
func LoadOpenAPI(name string, opts ...openapi3.ValidationOption) (*openapi3.T, error) {
	raw, err := acp.OpenAPI(name)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		p := strings.TrimPrefix(u.Path, "/")
		if u.Scheme != "" || u.Host != "" || !strings.HasPrefix(p, "spec/") {
			return nil, fmt.Errorf("acptest: %s is not an embedded spec file", u)
		}
		return fs.ReadFile(acp.Spec, p)
	}
	doc, err := loader.LoadFromDataWithPath(raw, &url.URL{Path: "/spec/openapi/openapi." + name + ".yaml"})
	if err != nil {
		return nil, fmt.Errorf("acptest: openapi.%s.yaml: %w", name, err)
	}
	// Some of the spec's own examples break its schemas (an Adjustment
	// example without its required id, …); they are documentation, so
	// only the document itself is checked.
	if err := doc.Validate(context.Background(), append([]openapi3.ValidationOption{openapi3.DisableExamplesValidation()}, opts...)...); err != nil {
		return nil, fmt.Errorf("acptest: openapi.%s.yaml: %w", name, err)
	}
	return doc, nil
}
