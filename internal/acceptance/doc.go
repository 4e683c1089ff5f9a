// Package acceptance holds tests that treat the module as a new user does:
// they copy it, edit openapi.yaml, regenerate, build and run what it built.
package acceptance
