package sandbox

import (
	"context"
	"testing"
)

// TestVerifiedTrustsOnlyTheGuardsCheck: the token handler skips hashing the
// secret only for the id and secret the guard found right in this request.
func TestVerifiedTrustsOnlyTheGuardsCheck(t *testing.T) {
	s, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	checked := func(id, secret string) context.Context {
		return context.WithValue(context.Background(), infoKey{}, &requestInfo{verifiedID: id, verifiedSecret: secret})
	}
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		id, secret string
		want       bool
	}{
		{"checked by the guard", checked(DefaultPartnerID, DefaultPartnerSecret), DefaultPartnerID, DefaultPartnerSecret, true},
		{"not checked: hashed", context.Background(), DefaultPartnerID, DefaultPartnerSecret, true},
		{"other secret than the checked one", checked(DefaultPartnerID, DefaultPartnerSecret), DefaultPartnerID, "wrong", false},
		{"other id than the checked one", checked(DefaultPartnerID, DefaultPartnerSecret), "someone-else", DefaultPartnerSecret, false},
		{"checked id no longer in the world", checked("gone", "x"), "gone", "x", false},
		{"not checked, wrong secret", context.Background(), DefaultPartnerID, "wrong", false},
	} {
		p, ok := s.verified(tc.ctx, tc.id, tc.secret)
		if ok != tc.want || (ok && p.ID != tc.id) {
			t.Errorf("%s: verified(%q) = %q, %v; want ok %v", tc.name, tc.id, p.ID, ok, tc.want)
		}
	}
}
