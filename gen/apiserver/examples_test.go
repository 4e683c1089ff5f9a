package apiserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/milligold/milligold-go/gen/apiserver"
	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

// TestExamples: every operation of the table, called on Examples (by its
// strict-server name, so a new operation is covered too), answers its
// documented success with a body valid against that response's schema.
func TestExamples(t *testing.T) {
	doc, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	ex := reflect.ValueOf(apiserver.Examples{})
	for _, op := range middleware.Operations {
		m := ex.MethodByName(op.GoName)
		if !m.IsValid() {
			t.Errorf("Examples has no method %s", op.GoName)
			continue
		}
		req := reflect.Zero(m.Type().In(1))
		out := m.Call([]reflect.Value{reflect.ValueOf(context.Background()), req})
		if err, _ := out[1].Interface().(error); err != nil {
			t.Errorf("%s: %v", op.ID, err)
			continue
		}
		visit := out[0].MethodByName("Visit" + op.GoName + "Response")
		rec := httptest.NewRecorder()
		if err, _ := visit.Call([]reflect.Value{reflect.ValueOf(http.ResponseWriter(rec))})[0].Interface().(error); err != nil {
			t.Errorf("%s: visit: %v", op.ID, err)
		}
		if rec.Code != op.Success {
			t.Errorf("%s: status %d; want the documented %d", op.ID, rec.Code, op.Success)
		}
		mt := doc.Paths.Find(op.Path).GetOperation(op.Method).Responses.Status(op.Success).Value.Content.Get("application/json")
		if mt == nil {
			if rec.Body.Len() != 0 {
				t.Errorf("%s: body %q for a response without JSON content", op.ID, rec.Body)
			}
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", op.ID, ct)
		}
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Errorf("%s: body %q: %v", op.ID, rec.Body, err)
			continue
		}
		if err := mt.Schema.Value.VisitJSON(v); err != nil {
			t.Errorf("%s: %d answer does not match its schema: %v", op.ID, op.Success, err)
		}
	}
}
