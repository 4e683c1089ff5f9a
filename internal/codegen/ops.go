package codegen

import (
	"cmp"
	"go/token"
	"slices"
	"strings"
	"unicode"

	. "github.com/dave/jennifer/jen"
	"github.com/getkin/kin-openapi/openapi3"
	oapi "github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
)

// opResult is how a typed method returns an operation's success answer:
// the Go names, in oapi-codegen's package, of the 2xx envelope and of its
// data. Both empty when the spec does not name them (an inline schema, or
// data that is not an object $ref): the method then returns data as
// json.RawMessage.
type opResult struct{ envelope, data string }

// successResult reads the operation's success answer's JSON schema: an
// envelope $ref whose data property is a $ref to an object schema.
func successResult(spec *openapi3.Operation, status int) opResult {
	r := spec.Responses.Status(status)
	if r == nil || r.Value == nil {
		return opResult{}
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return opResult{}
	}
	env, ok := strings.CutPrefix(mt.Schema.Ref, "#/components/schemas/")
	if !ok {
		return opResult{}
	}
	d := mt.Schema.Value.Properties["data"]
	if d == nil || d.Value == nil || !d.Value.Type.Is("object") || mt.Schema.Value.Properties["success"] == nil {
		return opResult{}
	}
	data, ok := strings.CutPrefix(d.Ref, "#/components/schemas/")
	if !ok {
		return opResult{}
	}
	return opResult{envelope: oapi.SchemaNameToTypeName(env), data: oapi.SchemaNameToTypeName(data)}
}

const pkgJSON = "encoding/json"

// opsFile renders Ops: one typed method per operation (but the token one)
// over a Caller, which milligold.Client provides through its Ops method.
// The logic (request building, token, limiter, answer checks, typed errors)
// stays in the Caller; each method only binds the operation's names.
func (m *model) opsFile() *File {
	f := m.newFile()
	comment(f, "Caller sends one operation of the spec: params holds its path\nparameters by name (nil for none), query (when not nil) an oapi-codegen params struct\nwhose query and header fields are sent as oapi-codegen's client sends them,\nbody its JSON body (nil for none).\nIt decodes the success answer into dst, a pointer to the envelope type\n(or a *json.RawMessage, which gets data as it came), and returns every\nother answer as an error. milligold.Client's Ops provides one.")
	f.Type().Id("Caller").Interface(
		Id("CallInto").Params(Id("ctx").Qual(pkgContext, "Context"), Id("operationID").String(), Id("params").Map(String()).String(), Id("query").Any(), Id("body").Index().Byte(), Id("dst").Any()).Error(),
	)
	f.Line()
	comment(f, "Ops has a typed method per operation of the spec but the token one.")
	f.Type().Id("Ops").Struct(Id("c").Id("Caller"))
	f.Line()
	comment(f, "NewOps returns the operations, called through c.")
	f.Func().Id("NewOps").Params(Id("c").Id("Caller")).Op("*").Id("Ops").Block(Return(Op("&").Id("Ops").Values(Dict{Id("c"): Id("c")})))
	for _, op := range m.ops {
		if op.issuesToken || (op.bodyType != "" && op.bodyType != "application/json") {
			continue
		}
		f.Line()
		m.opsMethod(f, op)
	}
	return f
}

func (m *model) opsMethod(f *File, op operation) {
	args := []Code{Id("ctx").Qual(pkgContext, "Context")}
	params := Dict{}
	hasQuery := false
	var kinds []string // of the parameters in the params struct, for the doc
	var pathNames []string
	// Path parameters in the path's order, as a reader of the path expects
	// (the table keeps them by name).
	ordered := slices.Clone(op.params)
	slices.SortStableFunc(ordered, func(a, b param) int {
		return cmp.Compare(pathIndex(op.path, a), pathIndex(op.path, b))
	})
	for _, p := range ordered {
		if p.in != "path" {
			hasQuery = true
			if !slices.Contains(kinds, p.in) {
				kinds = append(kinds, p.in)
			}
			continue
		}
		id := goIdent(p.name)
		args = append(args, Id(id).Id(p.goType))
		if p.goType == "string" {
			params[Lit(p.name)] = Id(id)
		} else {
			params[Lit(p.name)] = Qual("fmt", "Sprint").Call(Id(id))
		}
		pathNames = append(pathNames, p.name)
	}
	query := Code(Nil())
	if hasQuery {
		args = append(args, Id("params").Op("*").Add(m.api(op.goName+"Params")))
		query = Id("params")
	}
	body := Code(Nil())
	if op.bodyType != "" {
		args = append(args, Id("body").Add(m.api(op.goName+"JSONRequestBody")))
		body = Id("b")
	}
	res := op.result
	var result Code = Id("data").Add(m.api(res.data))
	if res.data == "" {
		result = Id("data").Qual(pkgJSON, "RawMessage")
	}
	doc := op.goName + " calls " + op.id + " (" + op.method + " " + op.path + ")"
	if len(pathNames) > 0 {
		doc += "; path parameters: " + strings.Join(pathNames, ", ")
	}
	if hasQuery {
		doc += "; params (nil for none) holds its " + strings.Join(kinds, " and ") + " parameters"
	}
	if res.data == "" {
		doc += ".\nIts answer's data is returned as it came: the spec does not name its type."
	} else {
		doc += ".\nIt returns the success answer's data."
	}
	comment(f, doc)
	var stmts []Code
	if op.bodyType != "" {
		stmts = append(stmts,
			List(Id("b"), Err()).Op(":=").Qual(pkgJSON, "Marshal").Call(Id("body")),
			If(Err().Op("!=").Nil()).Block(Return(Id("data"), Err())),
		)
	}
	// No map for an operation without path parameters: nil is none.
	var pathParams Code = Nil()
	if len(params) > 0 {
		pathParams = Map(String()).String().Values(params)
	}
	call := func(dst Code) *Statement {
		return Id("o").Dot("c").Dot("CallInto").Call(Id("ctx"), Lit(op.id), pathParams, query, body, dst)
	}
	if res.data == "" {
		stmts = append(stmts,
			Var().Id("raw").Qual(pkgJSON, "RawMessage"),
			If(Err().Op("=").Add(call(Op("&").Id("raw"))), Err().Op("!=").Nil()).Block(Return(Id("data"), Err())),
			Return(Id("raw"), Nil()),
		)
		f.Func().Params(Id("o").Op("*").Id("Ops")).Id(op.goName).Params(args...).Params(result, Err().Error()).Block(stmts...)
		return
	}
	stmts = append(stmts,
		Var().Id("env").Add(m.api(res.envelope)),
		If(Err().Op("=").Add(call(Op("&").Id("env"))), Err().Op("!=").Nil()).Block(Return(Id("data"), Err())),
	)
	stmts = append(stmts, Return(Id("env").Dot("Data"), Nil()))
	f.Func().Params(Id("o").Op("*").Id("Ops")).Id(op.goName).Params(args...).Params(result, Err().Error()).Block(stmts...)
}

// pathIndex is where p sits in path; after every path parameter for a
// query parameter.
func pathIndex(path string, p param) int {
	if i := strings.Index(path, "{"+p.name+"}"); p.in == "path" && i >= 0 {
		return i
	}
	return len(path)
}

// paramGoType is the Go type a path parameter is taken as: the scalar
// oapi-codegen would use for its schema, string for anything else (which
// the server then validates).
func paramGoType(p *openapi3.Parameter) string {
	if p.Schema == nil || p.Schema.Value == nil {
		return "string"
	}
	s := p.Schema.Value
	switch {
	case s.Type.Is("integer") && (s.Format == "int32" || s.Format == "int64"):
		return s.Format
	case s.Type.Is("integer"):
		return "int"
	case s.Type.Is("boolean"):
		return "bool"
	case s.Type.Is("number") && s.Format == "float":
		return "float32"
	case s.Type.Is("number"):
		return "float64"
	}
	return "string"
}

// goIdent is a path parameter's name as a Go identifier that clashes with
// nothing in the method: mobileNumber stays, user-id becomes userId, and a
// keyword or a name the method uses (type, ctx, body) gets a Param suffix.
func goIdent(name string) string {
	s := oapi.ToCamelCase(name)
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "P" + s
	}
	s = strings.ToLower(s[:1]) + s[1:]
	switch s {
	case "ctx", "params", "body", "o", "data", "err", "b", "env", "raw", "api", "json", "context", "fmt":
		return s + "Param"
	}
	if token.IsKeyword(s) {
		return s + "Param"
	}
	return s
}
