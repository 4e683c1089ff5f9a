package codegen

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// facts is what a plan's summary compares: per operation and the policy.
type facts struct {
	ops   map[string]opFacts // by operationId
	rate  rateLimit
	token tokenPolicy
}

type opFacts struct {
	id, method, path string
	bearer           bool
	statuses         []string // documented, sorted
}

func (o opFacts) security() string {
	if o.bearer {
		return "bearer"
	}
	return "none"
}

// readFacts reads a spec the generator accepts.
func readFacts(spec []byte) (*facts, error) {
	m, err := build(spec, Config{})
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, err
	}
	f := &facts{ops: map[string]opFacts{}, rate: m.rate, token: m.token}
	for _, op := range m.ops {
		o := opFacts{id: op.id, method: op.method, path: op.path, bearer: op.bearer}
		if spec := doc.Paths.Value(op.path).GetOperation(op.method); spec != nil && spec.Responses != nil {
			o.statuses = slices.Sorted(mapsKeys(spec.Responses.Map()))
		}
		f.ops[op.id] = o
	}
	return f, nil
}

// embeddedSpec returns the spec oapi-codegen embedded in a generated file
// (gen/apispec): the spec gen/ was last generated from. ok is false when
// the file holds none.
func embeddedSpec(src []byte) (spec []byte, ok bool, err error) {
	file, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, false, err
	}
	var chunks []string
	found := false
	ast.Inspect(file, func(n ast.Node) bool {
		vs, isVS := n.(*ast.ValueSpec)
		if !isVS || len(vs.Names) != 1 || vs.Names[0].Name != "swaggerSpec" || len(vs.Values) != 1 {
			return true
		}
		lit, isLit := vs.Values[0].(*ast.CompositeLit)
		if !isLit {
			return true
		}
		found = true
		for _, e := range lit.Elts {
			if bl, isBL := e.(*ast.BasicLit); isBL && bl.Kind == token.STRING {
				s, err := strconv.Unquote(bl.Value)
				if err == nil {
					chunks = append(chunks, s)
				}
			}
		}
		return false
	})
	if !found {
		return nil, false, nil
	}
	// As the generated decodeSpec: base64, then deflate.
	compressed, err := base64.StdEncoding.DecodeString(strings.Join(chunks, ""))
	if err != nil {
		return nil, false, err
	}
	spec, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(compressed)), 64<<20))
	if err != nil {
		return nil, false, err
	}
	return spec, true, nil
}

// summarize writes Terraform-like lines from old to new; old nil means
// gen/ holds no readable previous spec, so every operation is new.
func summarize(old, neu *facts) []string {
	var lines []string
	if old == nil {
		old = &facts{ops: map[string]opFacts{}, rate: neu.rate, token: neu.token}
	}
	ids := slices.Sorted(mapsKeys(neu.ops))
	for id := range old.ops {
		if _, ok := neu.ops[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		o, hadOld := old.ops[id]
		n, hasNew := neu.ops[id]
		switch {
		case !hadOld:
			lines = append(lines, fmt.Sprintf("+ operation %s (%s %s, security %s): client method, server route, %d contract cases (%s)",
				id, n.method, n.path, n.security(), len(n.statuses), strings.Join(n.statuses, ", ")))
		case !hasNew:
			lines = append(lines, fmt.Sprintf("- operation %s (%s %s): client method, server route and its %d contract cases go",
				id, o.method, o.path, len(o.statuses)))
		default:
			var d []string
			if o.method != n.method || o.path != n.path {
				d = append(d, fmt.Sprintf("%s %s → %s %s", o.method, o.path, n.method, n.path))
			}
			if o.bearer != n.bearer {
				d = append(d, fmt.Sprintf("security %s → %s", o.security(), n.security()))
			}
			if !slices.Equal(o.statuses, n.statuses) {
				d = append(d, fmt.Sprintf("statuses %s → %s", strings.Join(o.statuses, ", "), strings.Join(n.statuses, ", ")))
			}
			if len(d) > 0 {
				lines = append(lines, fmt.Sprintf("~ operation %s: %s", id, strings.Join(d, "; ")))
			}
		}
	}
	lines = append(lines, rateLines(old.rate, neu.rate)...)
	lines = append(lines, tokenLines(old.token, neu.token)...)
	return lines
}

func rateLines(o, n rateLimit) []string {
	var lines []string
	switch {
	case o.windowSeconds == n.windowSeconds && o.requests != n.requests:
		lines = append(lines, fmt.Sprintf("~ rate limit: %d → %d per %ds", o.requests, n.requests, n.windowSeconds))
	case o.windowSeconds != n.windowSeconds:
		lines = append(lines, fmt.Sprintf("~ rate limit: %d per %ds → %d per %ds", o.requests, o.windowSeconds, n.requests, n.windowSeconds))
	}
	if o.scope != n.scope || o.windowStart != n.windowStart {
		lines = append(lines, fmt.Sprintf("~ rate limit window: per %s from %s → per %s from %s", o.scope, o.windowStart, n.scope, n.windowStart))
	}
	for _, h := range [][3]string{{"limit", o.limitHdr, n.limitHdr}, {"remaining", o.remainingHdr, n.remainingHdr}, {"reset", o.resetHdr, n.resetHdr}} {
		if h[1] != h[2] {
			lines = append(lines, fmt.Sprintf("~ rate limit %s header: %s → %s", h[0], h[1], h[2]))
		}
	}
	return lines
}

func tokenLines(o, n tokenPolicy) []string {
	var d []string
	if o.operationID != n.operationID {
		d = append(d, fmt.Sprintf("issued by %s → %s", o.operationID, n.operationID))
	}
	if o.lifetimeSeconds != n.lifetimeSeconds {
		d = append(d, fmt.Sprintf("lifetime %ds → %ds", o.lifetimeSeconds, n.lifetimeSeconds))
	}
	if o.tokenField != n.tokenField {
		d = append(d, fmt.Sprintf("field %s → %s", o.tokenField, n.tokenField))
	}
	if o.expiresInField != n.expiresInField {
		d = append(d, fmt.Sprintf("expiry field %s → %s", o.expiresInField, n.expiresInField))
	}
	if o.secretFormField != n.secretFormField || o.idField != n.idField {
		d = append(d, fmt.Sprintf("form %s/%s → %s/%s", o.idField, o.secretFormField, n.idField, n.secretFormField))
	}
	if len(d) == 0 {
		return nil
	}
	return []string{"~ token: " + strings.Join(d, "; ")}
}
