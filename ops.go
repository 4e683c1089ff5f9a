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
// path parameters as arguments, its query parameters as oapi-codegen's
// params struct and its JSON body as the generated body type, and returns
// the success answer's data as the generated type. Calls go through the
// same token, rate-limit and answer checks as Call, and every non-2xx is the
// same typed error (*APIError, *RateLimitError, ...).
func (c *Client) Ops() *middleware.Ops { return c.ops }

// opsCaller is the Client as gen/middleware's Caller, so the Client's own
// method set does not grow by the interface's method.
type opsCaller struct{ c *Client }

func (o opsCaller) CallInto(ctx context.Context, operationID string, params map[string]string, query any, body []byte, dst any) error {
	if query != nil {
		if params == nil {
			params = map[string]string{}
		}
		op, _ := middleware.OperationByID(operationID)
		isQuery := func(name string) bool {
			return slices.ContainsFunc(op.Params, func(p middleware.Param) bool { return p.In == "query" && p.Name == name })
		}
		if err := queryParams(query, isQuery, params); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidCall, operationID, err)
		}
	}
	if raw, ok := dst.(*json.RawMessage); ok {
		data, err := o.c.Call(ctx, operationID, params, body)
		*raw = data
		return err
	}
	return o.c.callInto(ctx, operationID, params, body, dst)
}

// queryParams adds the set fields of an oapi-codegen params struct (or a
// pointer to one) to params under their json names: a nil pointer is an
// absent optional parameter, a scalar is sent as fmt prints it. A field
// this cannot send as one value (a slice, a map, a struct) is an error
// rather than a silently wrong query.
//
// Only the operation's query parameters are taken: oapi-codegen's struct
// also holds header parameters, which the transports set.
func queryParams(query any, isQuery func(name string) bool, params map[string]string) error {
	v := reflect.ValueOf(query)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return fmt.Errorf("query parameters: want a struct, got %s", v.Type())
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name := jsonName(f)
		if name == "" || !isQuery(name) {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		switch fv.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct, reflect.Interface:
			return fmt.Errorf("query parameter %q: a %s is not supported by Ops; use Call", name, fv.Type())
		}
		params[name] = fmt.Sprint(fv.Interface())
	}
	return nil
}
