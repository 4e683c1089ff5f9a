package codegen

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	. "github.com/dave/jennifer/jen"
	"github.com/getkin/kin-openapi/openapi3"
)

// successExample is an operation's documented success: its status and the
// JSON the spec gives as its example ("" when the answer has no JSON body).
type successExample struct {
	status int
	body   string
}

// examplesFile renders Examples: a strict server that answers every
// operation with its documented success example, so a hand-written server
// embeds it and overrides only the operations with behaviour. A new
// operation in the spec then needs no hand-written line to compile or serve.
func (m *model) examplesFile(spec []byte) (*File, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, &SpecError{Spec: m.opts.SpecName, Msg: err.Error()}
	}
	f := m.newServerFile()
	comment(f, "Examples implements api.StrictServerInterface: every operation answers its\ndocumented success with the spec's example (the response's example, else\nits example named \"default\", else its first by name, else a value derived\nfrom the schema). Embed it and override the operations that have\nbehaviour; Prefer: example=NAME is the sandbox's, before the server.")
	f.Type().Id("Examples").Struct()
	f.Line()
	f.Var().Id("_").Add(m.api("StrictServerInterface")).Op("=").Id("Examples").Values()
	f.Line()
	for _, op := range m.ops {
		ex, err := successOf(doc, op)
		if err != nil {
			return nil, &SpecError{Spec: m.opts.SpecName, Place: fmt.Sprintf("paths.%s.%s.responses", op.path, strings.ToLower(op.method)), Msg: err.Error()}
		}
		commentf(f, "%s answers %s %s with %d and the spec's example.", op.goName, op.method, op.path, ex.status)
		f.Func().Params(Id("Examples")).Id(op.goName).Params(
			Qual(pkgContext, "Context"), m.api(op.goName+"RequestObject"),
		).Params(m.api(op.goName+"ResponseObject"), Error()).Block(
			Return(Id("Example").Values(Dict{Id("Status"): Lit(ex.status), Id("Body"): Lit(ex.body)}), Nil()),
		)
		f.Line()
	}
	comment(f, "Example is a documented answer: a status and its JSON body (none when\nBody is empty). It is the response object of every operation.")
	f.Type().Id("Example").Struct(
		Id("Status").Int(),
		Id("Body").String(),
	)
	f.Line()
	for _, op := range m.ops {
		f.Func().Params(Id("e").Id("Example")).Id("Visit" + op.goName + "Response").Params(Id("w").Qual(pkgHTTP, "ResponseWriter")).Error().Block(
			Return(Id("e").Dot("write").Call(Id("w"))),
		)
		f.Line()
	}
	f.Func().Params(Id("e").Id("Example")).Id("write").Params(Id("w").Qual(pkgHTTP, "ResponseWriter")).Error().Block(
		If(Id("e").Dot("Body").Op("==").Lit("")).Block(
			Id("w").Dot("WriteHeader").Call(Id("e").Dot("Status")),
			Return(Nil()),
		),
		Id("w").Dot("Header").Call().Dot("Set").Call(Lit("Content-Type"), Lit("application/json")),
		Id("w").Dot("WriteHeader").Call(Id("e").Dot("Status")),
		List(Id("_"), Err()).Op(":=").Qual("io", "WriteString").Call(Id("w"), Id("e").Dot("Body")),
		Return(Err()),
	)
	return f, nil
}

// successOf is op's documented success (its lowest 2xx) and its example.
func successOf(doc *openapi3.T, op operation) (successExample, error) {
	status := op.success // build refuses an operation with no 2xx
	ref := doc.Paths.Value(op.path).GetOperation(op.method).Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return successExample{}, fmt.Errorf("operation %q: no %d response", op.id, status)
	}
	resp := ref.Value
	mt := resp.Content.Get("application/json")
	if mt == nil {
		return successExample{status: status}, nil
	}
	value, ok := exampleOf(mt)
	if !ok {
		if mt.Schema == nil || mt.Schema.Value == nil {
			return successExample{status: status}, nil
		}
		value = fromSchema(mt.Schema.Value, 0)
	}
	b, err := json.Marshal(value)
	if err != nil {
		return successExample{}, fmt.Errorf("%d example of %q: %v", status, op.id, err)
	}
	return successExample{status: status, body: string(b) + "\n"}, nil
}

// exampleOf picks a media type's default example as Prism does, but
// deterministically: example, else examples.default, else the first by name.
func exampleOf(mt *openapi3.MediaType) (any, bool) {
	if mt.Example != nil {
		return mt.Example, true
	}
	names := slices.Sorted(mapsKeys(mt.Examples))
	if i := slices.Index(names, "default"); i > 0 {
		names[0], names[i] = names[i], names[0]
	}
	for _, name := range names {
		if ex := mt.Examples[name]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
			return ex.Value.Value, true
		}
	}
	return nil, false
}

// fromSchema derives a value that satisfies s's common constraints (type,
// enum, minimum, lengths, required properties), preferring s's own example
// and default. depth stops recursive schemas.
func fromSchema(s *openapi3.Schema, depth int) any {
	switch {
	case s == nil || depth > 8:
		return nil
	case s.Example != nil:
		return s.Example
	case s.Default != nil:
		return s.Default
	case len(s.Enum) > 0:
		return s.Enum[0]
	case len(s.AllOf) > 0:
		merged := map[string]any{}
		for _, part := range s.AllOf {
			if o, ok := fromSchema(part.Value, depth+1).(map[string]any); ok {
				for k, v := range o {
					merged[k] = v
				}
			}
		}
		return merged
	case len(s.OneOf) > 0:
		return fromSchema(s.OneOf[0].Value, depth+1)
	case len(s.AnyOf) > 0:
		return fromSchema(s.AnyOf[0].Value, depth+1)
	}
	switch {
	case s.Type.Is("object") || (s.Type == nil && len(s.Properties) > 0):
		o := map[string]any{}
		for name, p := range s.Properties {
			if p != nil && p.Value != nil && !p.Value.WriteOnly {
				o[name] = fromSchema(p.Value, depth+1)
			}
		}
		return o
	case s.Type.Is("array"):
		n := max(int(s.MinItems), 1)
		items := make([]any, n)
		for i := range items {
			if s.Items != nil {
				items[i] = fromSchema(s.Items.Value, depth+1)
			}
		}
		return items
	case s.Type.Is("integer"):
		return math.Ceil(numberFrom(s))
	case s.Type.Is("number"):
		return numberFrom(s)
	case s.Type.Is("boolean"):
		return true
	case s.Type.Is("string"):
		v := map[string]string{
			"date-time": "2024-01-01T00:00:00Z",
			"date":      "2024-01-01",
			"email":     "user@example.com",
			"uuid":      "00000000-0000-4000-8000-000000000000",
			"uri":       "https://example.com/",
		}[s.Format]
		if v == "" {
			v = "string"
		}
		for uint64(len(v)) < s.MinLength {
			v += "x"
		}
		if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
			v = v[:*s.MaxLength]
		}
		return v
	}
	return nil
}

// numberFrom is the schema's minimum (just above it when exclusive), else 0
// or, for a negative maximum, that maximum (just below it).
func numberFrom(s *openapi3.Schema) float64 {
	switch {
	case s.ExclusiveMin.Value != nil: // OpenAPI 3.1: the bound itself
		return *s.ExclusiveMin.Value + 1
	case s.Min != nil && s.ExclusiveMin.IsTrue():
		return *s.Min + 1
	case s.Min != nil:
		return *s.Min
	case s.ExclusiveMax.Value != nil && *s.ExclusiveMax.Value <= 0:
		return *s.ExclusiveMax.Value - 1
	case s.Max != nil && *s.Max < 0 && s.ExclusiveMax.IsTrue():
		return *s.Max - 1
	case s.Max != nil && *s.Max < 0:
		return *s.Max
	}
	return 0
}
