package milligold

// openapi.yaml is the source of truth: oapi-codegen turns it into gen/api,
// then milligold-gen turns its token and rate-limit policy into gen/middleware.
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/api/types.cfg.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/api/client.cfg.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/api/server.cfg.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config gen/api/spec.cfg.yaml openapi.yaml
//go:generate go run ./cmd/milligold-gen apply
