package milligold

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// queryParams takes an oapi-codegen params struct's set query fields by
// their json names, leaves header fields to the transports, and refuses
// what it cannot send as one value.
func TestQueryParams(t *testing.T) {
	limit, cursor := 20, "c1"
	type params struct {
		Kind    string  `form:"kind" json:"kind"`
		Limit   *int    `form:"limit,omitempty" json:"limit,omitempty"`
		Cursor  *string `form:"cursor,omitempty" json:"cursor,omitempty"`
		After   *string `form:"after,omitempty" json:"after,omitempty"`
		XHeader string  `json:"X-Trace"`
	}
	isQuery := func(name string) bool { return name != "X-Trace" }
	got := map[string]string{"id": "7"}
	if err := queryParams(&params{Kind: "a b", Limit: &limit, Cursor: &cursor, XHeader: "h"}, isQuery, got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"id": "7", "kind": "a b", "limit": "20", "cursor": "c1"}
	if !maps.Equal(got, want) {
		t.Errorf("params = %v; want %v", got, want)
	}
	if err := queryParams((*params)(nil), isQuery, map[string]string{}); err != nil {
		t.Errorf("nil params struct: %v", err)
	}
	type multi struct {
		Tags []string `json:"tags"`
	}
	if err := queryParams(&multi{Tags: []string{"a"}}, isQuery, map[string]string{}); err == nil || !strings.Contains(err.Error(), `"tags"`) {
		t.Errorf("slice field: %v; want an error naming it", err)
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
