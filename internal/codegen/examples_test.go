package codegen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestExamplesMatchTheirSchema: every answer Examples gives, for the real
// spec and each ok- case, is valid against its response's schema, whether
// it came from an example or from the schema.
func TestExamplesMatchTheirSchema(t *testing.T) {
	specs := []string{filepath.Join("..", "..", "openapi.yaml")}
	for _, name := range caseNames(t) {
		if name[:3] == "ok-" {
			specs = append(specs, filepath.Join("testdata", name, "openapi.yaml"))
		}
	}
	for _, path := range specs {
		spec, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := build(spec, Config{})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := openapi3.NewLoader().LoadFromData(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range m.ops {
			ex, err := successOf(doc, op)
			if err != nil {
				t.Fatalf("%s %s: %v", path, op.id, err)
			}
			mt := doc.Paths.Value(op.path).GetOperation(op.method).Responses.Status(ex.status).Value.Content.Get("application/json")
			if mt == nil {
				if ex.body != "" {
					t.Errorf("%s %s: %d has no JSON content but the answer has a body %q", path, op.id, ex.status, ex.body)
				}
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(ex.body), &v); err != nil {
				t.Fatalf("%s %s: body %q: %v", path, op.id, ex.body, err)
			}
			if err := mt.Schema.Value.VisitJSON(v); err != nil {
				t.Errorf("%s %s: %d example does not match its schema: %v", path, op.id, ex.status, err)
			}
		}
	}
}

// TestFromSchemaSatisfiesConstraints: with no example anywhere, the derived
// value meets the constraints the sandbox's clients check.
func TestFromSchemaSatisfiesConstraints(t *testing.T) {
	const spec = `{"type":"object","required":["id","grams","count","tags","kind","at","mail","neg","both","one"],
	"additionalProperties":false,
	"properties":{
	 "id":{"type":"string","minLength":12,"maxLength":14},
	 "grams":{"type":"number","minimum":0.5,"exclusiveMinimum":true},
	 "count":{"type":"integer","minimum":3,"maximum":9},
	 "tags":{"type":"array","minItems":2,"items":{"type":"string","format":"uuid"}},
	 "kind":{"type":"string","enum":["BAR","COIN"]},
	 "at":{"type":"string","format":"date-time"},
	 "mail":{"type":"string","format":"email"},
	 "neg":{"type":"integer","maximum":-4},
	 "both":{"allOf":[{"type":"object","required":["a"],"properties":{"a":{"type":"boolean"}}},{"type":"object","required":["b"],"properties":{"b":{"type":"string","example":"given"}}}]},
	 "one":{"oneOf":[{"type":"string","minLength":2},{"type":"integer"}]},
	 "self":{"type":"object","properties":{"n":{"type":"integer","default":7}}}
	}}`
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatal(err)
	}
	v := fromSchema(&s, 0)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any // as the wire carries it: numbers are float64
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if err := s.VisitJSON(decoded, openapi3.EnableFormatValidation()); err != nil {
		t.Fatalf("derived %s does not match its schema: %v", b, err)
	}
	o := decoded.(map[string]any)
	if o["kind"] != "BAR" || o["both"].(map[string]any)["b"] != "given" || o["self"].(map[string]any)["n"] != 7.0 {
		t.Errorf("derived %s: want the enum's first value, the schema's example and its default", b)
	}
}
