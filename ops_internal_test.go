package milligold

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/middleware"

	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// structParams takes an oapi-codegen params struct's set query and header
// fields by their json names, values as they are (oapi-codegen's runtime
// styles them), and leaves out what the table does not list as a query or
// header parameter (a cookie; Authorization, which the transports set).
func TestStructParams(t *testing.T) {
	limit, cursor, flags := 20, "c1", []string{"a", "b"}
	type params struct {
		Kind    string    `form:"kind" json:"kind"`
		Limit   *int      `form:"limit,omitempty" json:"limit,omitempty"`
		Cursor  *string   `form:"cursor,omitempty" json:"cursor,omitempty"`
		After   *string   `form:"after,omitempty" json:"after,omitempty"`
		Ids     []int     `form:"ids" json:"ids"`
		XTrace  string    `json:"X-Trace"`
		XFlags  *[]string `json:"X-Flags,omitempty"`
		Auth    *string   `json:"Authorization,omitempty"`
		Session string    `json:"session"`
	}
	op := &middleware.Operation{Params: []middleware.Param{
		{Name: "kind", In: "query"}, {Name: "limit", In: "query"}, {Name: "cursor", In: "query"}, {Name: "after", In: "query"},
		{Name: "ids", In: "query", Array: true, Explode: true}, {Name: "X-Trace", In: "header"}, {Name: "X-Flags", In: "header", Array: true},
	}}
	got, err := structParams(&params{Kind: "a b", Limit: &limit, Cursor: &cursor, Ids: []int{1, 2}, XTrace: "h", XFlags: &flags, Auth: &cursor, Session: "s"}, op)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"kind": "a b", "limit": 20, "cursor": "c1", "ids": []int{1, 2}, "X-Trace": "h", "X-Flags": []string{"a", "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("structParams = %#v;\nwant %#v", got, want)
	}
	got, err = structParams(&params{Kind: "k"}, op) // Ids nil: absent, not ids=
	if want := map[string]any{"kind": "k", "X-Trace": ""}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("structParams without ids = %#v, %v; want %#v", got, err, want)
	}
	if got, err := structParams((*params)(nil), op); err != nil || got != nil {
		t.Errorf("nil params struct: %v, %v", got, err)
	}
	if _, err := structParams(7, op); err == nil {
		t.Error("structParams(7): no error")
	}
}

// The Caller behind Ops returns data as it came for a *json.RawMessage (the
// methods of operations whose data type the spec does not name), with the
// same checks as Call.
func TestOpsCallerRaw(t *testing.T) {
	sb := sandboxtest.New(t)
	c, err := New(WithBaseURL(sb.URL), WithCredentials(sb.PartnerID, sb.PartnerSecret))
	if err != nil {
		t.Fatal(err)
	}
	var raw json.RawMessage
	if err := (opsCaller{c}).CallInto(context.Background(), "getUserInfo", map[string]string{"mobileNumber": "1234567890"}, nil, nil, &raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"mobileNumber":"1234567890"`) {
		t.Errorf("data %s", raw)
	}
	err = (opsCaller{c}).CallInto(context.Background(), "getUserInfo", map[string]string{"mobileNumber": "9999999999"}, nil, nil, &raw)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v; want ErrNotFound", err)
	}
}
