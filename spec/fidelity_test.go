package spec

import (
	"reflect"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestSpecFidelity (issue 11, item 11): tools that read only the spec (a
// Prism mock, a generator, docs) produce faithful answers: every response
// has an example, success is true on success envelopes and false on error
// ones, every X-Rate-Limit-* header has an example and a minimum, and no
// number that cannot be negative may be.
func TestSpecFidelity(t *testing.T) {
	doc := loadSpec(t)
	// These are rules for whoever writes openapi.yaml, a new operation too:
	// each message names its rule.
	const rule = "spec-writer rule (TestSpecFidelity): "
	success := func(schema *openapi3.Schema) []any {
		if p := schema.Properties["success"]; p != nil {
			return p.Value.Enum
		}
		return nil
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, ref := range op.Responses.Map() {
				where := method + " " + path + " " + status
				mt := ref.Value.Content.Get("application/json")
				if mt == nil {
					t.Errorf(rule+"%s: no application/json content", where)
					continue
				}
				wantSuccess := status[0] == '2'
				if got := success(mt.Schema.Value); !reflect.DeepEqual(got, []any{wantSuccess}) {
					t.Errorf(rule+"%s: success enum %v; want [%v]", where, got, wantSuccess)
				}
				// The example, or named examples (Prefer: example=NAME picks one).
				examples := map[string]any{}
				if mt.Example != nil {
					examples["example"] = mt.Example
				}
				for name, ex := range mt.Examples {
					if ex != nil && ex.Value != nil {
						examples[name] = ex.Value.Value
					}
				}
				if len(examples) == 0 {
					t.Errorf(rule+"%s: no example (a mock would make one up)", where)
					continue
				}
				for name, v := range examples {
					if ex, _ := v.(map[string]any); ex["success"] != wantSuccess {
						t.Errorf(rule+"%s: example %q success %v; want %v", where, name, ex["success"], wantSuccess)
					}
				}
				for name, h := range ref.Value.Headers {
					if h.Value.Example == nil && len(h.Value.Examples) == 0 {
						t.Errorf(rule+"%s: header %s has no example", where, name)
					}
				}
			}
		}
	}
	minimum := map[string]float64{
		"X-Rate-Limit-Limit":     1,
		"X-Rate-Limit-Remaining": 0,
		"X-Rate-Limit-Reset":     0,
	}
	for name, want := range minimum {
		h := doc.Components.Headers[name].Value
		s := h.Schema.Value
		if s.Min == nil || *s.Min != want {
			t.Errorf("header %s minimum %v; want %v", name, s.Min, want)
		}
		if v, ok := h.Example.(float64); !ok || v < want {
			t.Errorf("header %s example %v; want a number of at least %v", name, h.Example, want)
		}
	}
	for _, c := range []struct {
		schema, prop string
		min          float64
	}{
		{"AccessToken", "expiresIn", 1},
		{"AccessToken", "createdAt", 0},
		{"GoldRate", "rate", 0},
		{"GoldRate", "cgstRate", 0},
		{"GoldRate", "sgstRate", 0},
		{"User", "goldBalance", 0},
	} {
		p := doc.Components.Schemas[c.schema].Value.Properties[c.prop].Value
		if p.Min == nil || *p.Min != c.min {
			t.Errorf("%s.%s minimum %v; want %v", c.schema, c.prop, p.Min, c.min)
		}
	}
}
