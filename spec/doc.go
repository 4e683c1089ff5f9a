// Package spec holds openapi.yaml to account: its tests load and validate it
// with kin-openapi, compare its examples with the API document's (a copy lives
// in testdata), and round-trip every operation through the generated client
// and strict server.
package spec
