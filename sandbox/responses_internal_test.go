package sandbox

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apiserver"
	"github.com/milligold/milligold-go/gen/middleware"
)

// TestHandWrittenDerived: the operations the sandbox refuses declared
// responses for are exactly those server.go writes a method for (read from
// the source, independently of the reflection that derives them), and
// each has its configuredBy hint.
func TestHandWrittenDerived(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "server.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
			continue
		}
		if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
			if id, ok := star.X.(*ast.Ident); ok && id.Name == "server" {
				written[fn.Name.Name] = true
			}
		}
	}
	var want []string
	for _, op := range middleware.Operations {
		if written[op.GoName] {
			want = append(want, op.ID)
		}
	}
	slices.Sort(want)
	if got := slices.Sorted(maps.Keys(handWritten)); !slices.Equal(got, want) {
		t.Errorf("handWritten = %v; server.go writes methods for %v", got, want)
	}
	if hinted := slices.Sorted(maps.Keys(configuredBy)); !slices.Equal(hinted, want) {
		t.Errorf("configuredBy has hints for %v; the hand-written operations are %v (add or drop the hint)", hinted, want)
	}
	for id, hint := range handWritten {
		if hint != configuredBy[id] {
			t.Errorf("handWritten[%s] = %q; want configuredBy's %q", id, hint, configuredBy[id])
		}
	}
}

// noneWritten answers every operation with its example.
type noneWritten struct{ apiserver.Examples }

// oneWritten is a server with one operation of its own; the rest answer
// their examples.
type oneWritten struct{ apiserver.Examples }

func (*oneWritten) GetGoldRate(context.Context, api.GetGoldRateRequestObject) (api.GetGoldRateResponseObject, error) {
	return nil, nil
}

// valueWritten declares its operation on the value receiver.
type valueWritten struct{ apiserver.Examples }

func (valueWritten) GetUserInfo(context.Context, api.GetUserInfoRequestObject) (api.GetUserInfoResponseObject, error) {
	return nil, nil
}

func TestOwnOperations(t *testing.T) {
	hints := map[string]string{middleware.OpGetGoldRate: "goldRate"}
	for _, tc := range []struct {
		name  string
		probe reflect.Type
		want  map[string]string
	}{
		{"examples only", reflect.TypeFor[struct {
			*noneWritten
			apiserver.Examples
		}](), map[string]string{}},
		{"one method, hinted", reflect.TypeFor[struct {
			*oneWritten
			apiserver.Examples
		}](), map[string]string{middleware.OpGetGoldRate: "goldRate"}},
		{"value receiver, no hint", reflect.TypeFor[struct {
			*valueWritten
			apiserver.Examples
		}](), map[string]string{middleware.OpGetUserInfo: "its own section of the config"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownOperations(tc.probe, hints); !maps.Equal(got, tc.want) {
				t.Errorf("ownOperations = %v; want %v", got, tc.want)
			}
		})
	}
}
