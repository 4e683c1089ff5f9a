package tokens

import (
	"context"
	"errors"
	"net/http"
)

// Fetcher returns a FetchFunc for a token operation: send sends the token
// request; decode hands its read a pointer to the answer's destination and
// picks the token and its expiresIn (seconds) out of it. read checks the
// answer (status, media type, shape, size), decodes its body into dst,
// closes it, and returns an error for anything but the documented answer.
// The grant is checked: a non-empty token,
// a positive and bounded lifetime. gen/middleware binds send and decode to
// the spec's token operation.
func Fetcher(send func(context.Context) (*http.Response, error), read func(resp *http.Response, dst any) error,
	decode func(read func(dst any) error) (token string, expiresInSeconds int64, err error)) FetchFunc {
	return func(ctx context.Context) (Grant, error) {
		resp, err := send(ctx)
		if err != nil {
			return Grant{}, err
		}
		called := false
		value, expiresIn, err := decode(func(dst any) error {
			called = true
			return read(resp, dst)
		})
		if !called { // a decode that never reads must not leak the connection
			resp.Body.Close()
			return Grant{}, errors.Join(ErrBadGrant, err)
		}
		if err != nil {
			return Grant{}, err
		}
		return newGrant(value, expiresIn)
	}
}
