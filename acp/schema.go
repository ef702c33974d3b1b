package acp

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Definitions of spec/json-schema/schema.feed.json that feed documents are
// validated against.
const (
	// DefProducts is a whole product set: what PUT /v1/catalog takes and
	// GET /feeds/{id}/products answers.
	DefProducts = "ProductsResponse"
	// DefUpsert is PATCH /feeds/{id}/products: products to add or replace.
	DefUpsert = "UpsertProductsRequest"
	// DefCreateFeed is POST /feeds.
	DefCreateFeed = "CreateFeedRequest"
	// DefFeedMetadata is what POST /feeds and GET /feeds/{id} answer.
	DefFeedMetadata = "FeedMetadata"
)

// feedSchemas compiles the feed bundle once, with formats asserted (the
// spec's "format": "uri" fields must hold URIs), and the definitions
// documents are checked against.
var feedSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	raw, err := JSONSchema("feed")
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("acp: schema.feed.json: %w", err)
	}
	obj, _ := doc.(map[string]any)
	id, _ := obj["$id"].(string)
	if id == "" {
		return nil, errors.New("acp: schema.feed.json has no $id")
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("acp: schema.feed.json: %w", err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, def := range []string{DefProducts, DefUpsert, DefCreateFeed, DefFeedMetadata, "Product"} {
		s, err := c.Compile(id + "#/$defs/" + def)
		if err != nil {
			return nil, fmt.Errorf("acp: schema.feed.json $defs/%s: %w", def, err)
		}
		out[def] = s
	}
	return out, nil
})

// ValidateFeedSchema checks a decoded JSON document (numbers as
// json.Number, as jsonschema.UnmarshalJSON leaves them) against the feed
// schema's definition def, and returns what is wrong with it.
func ValidateFeedSchema(def string, doc any) ([]Problem, error) {
	schemas, err := feedSchemas()
	if err != nil {
		return nil, err
	}
	s := schemas[def]
	if s == nil {
		return nil, fmt.Errorf("acp: no feed schema definition %q", def)
	}
	err = s.Validate(doc)
	var verr *jsonschema.ValidationError
	if err == nil {
		return nil, nil
	}
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("acp: validate %s: %w", def, err)
	}
	var problems []Problem
	collectProblems(verr, &problems)
	return problems, nil
}

var printer = message.NewPrinter(language.English)

// collectProblems adds the leaves of a validation error: each says what is
// wrong where; the inner nodes only say which schema failed.
func collectProblems(e *jsonschema.ValidationError, out *[]Problem) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collectProblems(c, out)
		}
		return
	}
	at := slices.Clone(e.InstanceLocation)
	p := Problem{Code: "schema_violation", Message: e.ErrorKind.LocalizedString(printer)}
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		p.Code = "invalid_type"
		if len(at) > 0 && at[len(at)-1] == "amount" {
			p.Code = "invalid_amount"
			p.Message = fmt.Sprintf("amounts are integers of minor units of the currency (1999 for 19.99 USD); got %s", k.Got)
		}
	case *kind.Required:
		p.Code = "missing_field"
		if len(k.Missing) > 0 {
			at = append(at, k.Missing[0])
		}
	case *kind.AdditionalProperties:
		p.Code = "unknown_field"
		if len(k.Properties) > 0 {
			at = append(at, k.Properties[0])
		}
	case *kind.Format:
		p.Code = "invalid_format"
	case *kind.Pattern:
		p.Code = "invalid_value"
	case *kind.Minimum:
		p.Code = "invalid_value"
	case *kind.FalseSchema:
		p.Code = "unknown_field"
	}
	p.Param = jsonPath(at)
	*out = append(*out, p)
}
