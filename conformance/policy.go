package conformance

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// policy is what the spec's x-milligold-* extensions say, so the suite's
// rate-limit and token checks follow the spec instead of repeating it.
type policy struct {
	token          tokenPolicy
	rateLimit      rateLimitPolicy
	passwordFields []string // form fields of the token request with format: password
}

type tokenPolicy struct {
	OperationID    string `json:"operationId"`
	TokenField     string `json:"tokenField"`
	ExpiresInField string `json:"expiresInField"`
}

type rateLimitPolicy struct {
	Requests      int `json:"requests"`
	WindowSeconds int `json:"windowSeconds"`
	Headers       struct {
		Limit     string `json:"limit"`
		Remaining string `json:"remaining"`
		Reset     string `json:"reset"`
	} `json:"headers"`
}

func readPolicy(doc *openapi3.T) (policy, error) {
	var p policy
	if err := extension(doc, "x-milligold-token", &p.token); err != nil {
		return p, err
	}
	if err := extension(doc, "x-milligold-rate-limit", &p.rateLimit); err != nil {
		return p, err
	}
	rl := p.rateLimit
	if rl.Requests < 1 || rl.WindowSeconds < 1 || rl.Headers.Limit == "" || rl.Headers.Remaining == "" || rl.Headers.Reset == "" {
		return p, fmt.Errorf("conformance: x-milligold-rate-limit is incomplete: %+v", rl)
	}
	if p.token.TokenField == "" || p.token.OperationID == "" {
		return p, fmt.Errorf("conformance: x-milligold-token is incomplete: %+v", p.token)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID != p.token.OperationID || op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for _, media := range op.RequestBody.Value.Content {
				if media.Schema == nil || media.Schema.Value == nil {
					continue
				}
				for name, prop := range media.Schema.Value.Properties {
					if prop.Value != nil && prop.Value.Format == "password" {
						p.passwordFields = append(p.passwordFields, name)
					}
				}
			}
		}
	}
	slices.Sort(p.passwordFields)
	return p, nil
}

func extension(doc *openapi3.T, name string, into any) error {
	raw, ok := doc.Extensions[name]
	if !ok {
		return fmt.Errorf("conformance: the spec has no %s", name)
	}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	if err != nil {
		return fmt.Errorf("conformance: read %s: %w", name, err)
	}
	return nil
}
