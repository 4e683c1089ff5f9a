package milligold

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/milligold/milligold-go/internal/hostile"
)

// The package's tests fake the API with internal/hostile's server, the one
// fake the client's tests share (trust_test.go attacks the client with it
// too): the document's answers under /partner, any of them replaceable, and
// every request recorded.
const (
	fakePartnerID = "partner-1"   // its partner; the secret is testSecret
	fakeToken     = hostile.Token // the one access token it issues
)

// newFakeAPI starts the fake on loopback, checking the partner's
// credentials and the bearer token as the API does.
func newFakeAPI(t testing.TB) *hostile.Server {
	srv := hostile.New(t)
	srv.Partner(fakePartnerID, testSecret)
	return srv
}

// issue is the fake's own token answer, for a Sequence that ends with it.
func issue() http.HandlerFunc { return hostile.IssueToken(fakePartnerID, testSecret) }

// tooMany is a 429 as openapi.yaml documents it: the three rate-limit
// headers and an error body.
func tooMany(limit int, reset int64) http.HandlerFunc {
	return hostile.WithHeaders(hostile.JSON(http.StatusTooManyRequests, `{"success":false,"error":"Too many requests","errorCode":"r"}`), map[string]string{
		"X-Rate-Limit-Limit": strconv.Itoa(limit), "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": strconv.FormatInt(reset, 10),
	})
}
