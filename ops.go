package milligold

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/milligold/milligold-go/gen/middleware"
)

// Ops returns a typed method for every operation of openapi.yaml but the
// token one, generated from the spec (gen/middleware's Ops): each takes its
// path parameters as arguments, its query and header parameters as
// oapi-codegen's params struct (sent as oapi-codegen's client sends them)
// and its JSON body as the generated body type, and returns the success
// answer's data as the generated type. Calls go through the same token,
// rate-limit and answer checks as Call, and every non-2xx is the same typed
// error (*APIError, *RateLimitError, ...).
func (c *Client) Ops() *middleware.Ops { return c.ops }

// opsCaller is the Client as gen/middleware's Caller, so the Client's own
// method set does not grow by the interface's method.
type opsCaller struct{ c *Client }

func (o opsCaller) CallInto(ctx context.Context, operationID string, params map[string]string, query any, body []byte, dst any) error {
	var typed map[string]any
	if query != nil {
		op, _ := operationByID(operationID)
		var err error
		if typed, err = structParams(query, op); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidCall, operationID, err)
		}
	}
	if raw, ok := dst.(*json.RawMessage); ok {
		data, err := o.c.call(ctx, operationID, params, typed, body)
		*raw = data
		return err
	}
	return o.c.callInto(ctx, operationID, params, typed, body, dst)
}

// structParams returns the set fields of an oapi-codegen params struct (or
// a pointer to one) that are op's query or header parameters, by their json
// names: a nil pointer or slice is an absent parameter, a pointer's value
// is taken. Other fields (a cookie, the Authorization header the transports
// set) are left out.
func structParams(query any, op *middleware.Operation) (map[string]any, error) {
	v := reflect.ValueOf(query)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("query parameters: want a struct, got %s", v.Type())
	}
	var out map[string]any
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name := jsonName(f)
		if name == "" || op == nil || !slices.ContainsFunc(op.Params, func(p middleware.Param) bool {
			return p.Name == name && (p.In == "query" || p.In == "header")
		}) {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		if fv.Kind() == reflect.Slice && fv.IsNil() {
			continue // absent, as oapi-codegen's client leaves it out
		}
		switch fv.Kind() {
		case reflect.Map, reflect.Interface:
			return nil, fmt.Errorf("parameter %q: a %s is not supported by Ops; use Call", name, fv.Type())
		}
		if out == nil {
			out = map[string]any{}
		}
		out[name] = fv.Interface()
	}
	return out, nil
}
