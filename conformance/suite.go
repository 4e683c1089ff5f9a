package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
)

// Defaults for Target.
const (
	// DefaultMobileNumber is the user of the API document's example, which
	// the sandbox's default fixtures include.
	DefaultMobileNumber = "1234567890"
	// DefaultUnknownMobileNumber is well formed, and no user has it.
	DefaultUnknownMobileNumber = "9999999999"
)

// FaultHeader asks a sandbox started with fault injection for a failure
// ("500"); it is no part of the partner API.
const FaultHeader = "X-Sandbox-Fault"

// Target is the API the suite runs against. Its String and GoString methods
// leave the secret out.
type Target struct {
	BaseURL             string // with the base path: http://127.0.0.1:8080/partner
	PartnerID           string
	PartnerSecret       string
	MobileNumber        string            // a user that exists; "" means DefaultMobileNumber
	UnknownMobileNumber string            // a user that does not; "" means DefaultUnknownMobileNumber
	Transport           http.RoundTripper // what the validating Transport sends through; nil means http.DefaultTransport
	// InsecureHTTP lets BaseURL be plain http to a host other than this
	// machine. Without it Run refuses such a URL before sending anything:
	// the suite sends the partner secret and tokens, which would travel
	// unencrypted (the client's WithInsecureHTTP rule).
	InsecureHTTP bool
}

func (t Target) String() string {
	return fmt.Sprintf("{BaseURL:%s PartnerID:%s PartnerSecret:[redacted]}", t.BaseURL, t.PartnerID)
}

// GoString keeps %#v from printing the secret.
func (t Target) GoString() string { return "conformance.Target" + t.String() }

// Options selects the optional cases and the clock. The zero value runs the
// cases that need nothing special, on the real clock.
type Options struct {
	// RateLimit runs the rate-limit cases: the request after the limit in a
	// fresh window gets 429 with the three headers, on every operation, and
	// the window reopens after its reset. They spend the partner's quota and,
	// on the real clock, wait out two windows.
	RateLimit bool
	// Faults runs the documented 500s by sending FaultHeader; only a sandbox
	// started with fault injection answers it, so it is off by default.
	Faults bool
	// Expiry runs the expired-token case, which waits out a token's lifetime
	// (an hour today): for a fake clock (Now, Sleep) only.
	Expiry bool
	// Now and Sleep are the clock the suite waits on (for a window to reset).
	// nil means time.Now and a real sleep; the in-process sandbox's tests pass
	// its fake clock, so nothing sleeps.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Enable says how the caller turns on an option, given its field name
	// ("Faults", "RateLimit", "Expiry"), for the reason of a skipped case;
	// nil means the field itself ("Options.Faults"). The CLI names its flags.
	Enable func(field string) string
}

// Operations of the spec, as the cases and the report name them ("POST
// /auth/token"), from gen/middleware's table.
var (
	opToken = route(middleware.OpCreateAccessToken)
	opRate  = route(middleware.OpGetGoldRate)
	opUser  = route(middleware.OpGetUserInfo)
)

func route(id string) string {
	op, _ := middleware.OperationByID(id) // the ids are the table's own
	return op.Method + " " + op.Path
}

// need says what a case needs beyond a reachable API.
type need int

const (
	needNothing need = iota
	needFaults
	needRateLimit
	needExpiry
)

// testCase is one named check; it asserts one (operation, status) pair.
type testCase struct {
	pair    Pair
	variant string // tells apart cases of one pair: "missing bearer"
	needs   need
	run     func(ctx context.Context, s *session) error
	derived *derivation // what a derived case sends (derive.go); nil for a written one
}

func (c testCase) name() string {
	if c.variant == "" {
		return c.pair.String()
	}
	return c.pair.String() + " (" + c.variant + ")"
}

// forgedToken is the API document's example token: well formed, signed with
// a key the API does not use, and long expired.
const forgedToken = "eyJhbGciOiJIUzI1NiJ9.eyJwYXJ0bmVySWQiOiJjbGptd2dldTEwMDAwZzVmdnp0bjJtcnZuIiwicGFydG5lck5hbWUiOiJUZXN0IFBhcnRuZXIiLCJpYXQiOjE2ODg5OTQyNzEsImV4cCI6MTY4ODk5Nzg3MX0.0SOC-RqUdBt_7GuAjS9_Qb6YMRT7zZu8nzFEOVvUUpc"

// cases returns the suite in the order it runs: the token first (the others
// use it), the rate limit last (it spends the quota).
func cases() []testCase {
	return []testCase{
		{pair: Pair{opToken, 200}, run: tokenIssued},
		{pair: Pair{opToken, 200}, variant: "extra fields tolerated", run: extraFieldsTolerated},
		{pair: Pair{opToken, 400}, variant: "missing partnerSecret", run: tokenMissingField},
		{pair: Pair{opToken, 400}, variant: "JSON body", run: tokenJSONBody},
		{pair: Pair{opToken, 401}, variant: "wrong secret", run: tokenWrongSecret},
		{pair: Pair{opRate, 200}, run: goldRate},
		{pair: Pair{opRate, 401}, variant: "missing bearer", run: unauthorized(opRate, noBearer, true)},
		{pair: Pair{opRate, 401}, variant: "forged bearer", run: unauthorized(opRate, forgedBearer, false)},
		{pair: Pair{opUser, 200}, run: userFound},
		{pair: Pair{opUser, 404}, run: userNotFound},
		{pair: Pair{opUser, 400}, variant: "not ten digits", run: userBadNumber},
		{pair: Pair{opUser, 401}, variant: "missing bearer", run: unauthorized(opUser, noBearer, true)},
		{pair: Pair{opUser, 401}, variant: "malformed bearer", run: unauthorized(opUser, malformedBearer, true)},
		{pair: Pair{opRate, 401}, variant: "expired bearer", needs: needExpiry, run: expiredBearer},
		{pair: Pair{opToken, 500}, variant: "injected fault", needs: needFaults, run: fault(opToken)},
		{pair: Pair{opRate, 500}, variant: "injected fault", needs: needFaults, run: fault(opRate)},
		{pair: Pair{opUser, 500}, variant: "injected fault", needs: needFaults, run: fault(opUser)},
		{pair: Pair{opRate, 429}, variant: "request after the limit", needs: needRateLimit, run: rateLimited},
		{pair: Pair{opToken, 429}, variant: "same window", needs: needRateLimit, run: stillLimited(opToken)},
		{pair: Pair{opUser, 429}, variant: "same window", needs: needRateLimit, run: stillLimited(opUser)},
		{pair: Pair{opRate, 200}, variant: "window reopens after the reset", needs: needRateLimit, run: windowReopens},
	}
}

// session is one run's state: the client, the token, the last window reset.
type session struct {
	target Target
	opts   Options
	pol    ratelimit.Policy // the spec's rate limit (gen/middleware)
	client *api.Client
	doer   api.HttpRequestDoer // the validating, pacing client under client, for derived requests
	token  string
	reset  time.Time // the reset of the window the rate-limit cases filled
}

// response is what a case looks at.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send calls op with the target's valid input and a valid bearer token (for
// the operations that need one); edits run after, so they can spoil either.
func (s *session) send(ctx context.Context, op string, edits ...api.RequestEditorFn) (response, error) {
	var (
		resp *http.Response
		err  error
	)
	switch op {
	case opToken:
		resp, err = s.client.CreateAccessTokenWithFormdataBody(ctx,
			api.TokenRequest{PartnerId: s.target.PartnerID, PartnerSecret: s.target.PartnerSecret}, edits...)
	case opRate, opUser:
		token, terr := s.accessToken(ctx)
		if terr != nil {
			return response{}, terr
		}
		edits = append([]api.RequestEditorFn{bearer(token)}, edits...)
		if op == opRate {
			resp, err = s.client.GetGoldRate(ctx, edits...)
		} else {
			resp, err = s.client.GetUserInfo(ctx, s.target.MobileNumber, edits...)
		}
	default:
		return response{}, fmt.Errorf("no request for %s", op)
	}
	return read(resp, err)
}

func read(resp *http.Response, err error) (response, error) {
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return response{}, fmt.Errorf("read the response: %w", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// accessToken returns the session's token, asking for one the first time.
func (s *session) accessToken(ctx context.Context) (string, error) {
	if s.token != "" {
		return s.token, nil
	}
	r, err := s.send(context.WithValue(ctx, invalidKey{}, false), opToken)
	if err != nil {
		return "", fmt.Errorf("get an access token: %w", err)
	}
	tok, err := decodeToken(r)
	if err != nil {
		return "", fmt.Errorf("get an access token: %w", err)
	}
	s.token = tok.AccessToken
	return s.token, nil
}

func bearer(token string) api.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func noBearer(_ context.Context, req *http.Request) error {
	req.Header.Del("Authorization")
	return nil
}

func forgedBearer(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+forgedToken)
	return nil
}

// malformedBearer sends the token without the Bearer scheme.
func malformedBearer(_ context.Context, req *http.Request) error {
	tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	req.Header.Set("Authorization", tok)
	return nil
}

func wantStatus(r response, want int) error {
	if r.status != want {
		return fmt.Errorf("status %d; want %d", r.status, want)
	}
	return nil
}

// decodeJSON decodes a success body into v and checks its envelope.
func decodeJSON(r response, v any, success *bool) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("decode the %d body: %w", r.status, err)
	}
	if !*success {
		return fmt.Errorf("success = false in a %d response; want true", r.status)
	}
	return nil
}

// wantError checks a failure: its status and the error envelope.
func wantError(r response, status int) error {
	if err := wantStatus(r, status); err != nil {
		return err
	}
	var e api.ErrorResponse
	if err := json.Unmarshal(r.body, &e); err != nil {
		return fmt.Errorf("decode the %d body: %w", status, err)
	}
	switch {
	case e.Success:
		return fmt.Errorf("success = true in a %d response; want false", status)
	case e.Error == "":
		return fmt.Errorf("empty error in a %d response", status)
	case e.ErrorCode == "":
		return fmt.Errorf("empty errorCode in a %d response", status)
	}
	return nil
}

func decodeToken(r response) (api.AccessToken, error) {
	if err := wantStatus(r, http.StatusOK); err != nil {
		return api.AccessToken{}, err
	}
	var tr api.TokenResponse
	if err := decodeJSON(r, &tr, &tr.Success); err != nil {
		return api.AccessToken{}, err
	}
	t := tr.Data
	switch {
	case t.AccessToken == "":
		return t, errors.New("empty accessToken")
	case t.ExpiresIn <= 0:
		return t, fmt.Errorf("expiresIn = %d; want > 0", t.ExpiresIn)
	case t.CreatedAt <= 0:
		return t, fmt.Errorf("createdAt = %d; want unix seconds", t.CreatedAt)
	}
	return t, nil
}

func tokenIssued(ctx context.Context, s *session) error {
	r, err := s.send(ctx, opToken)
	if err != nil {
		return err
	}
	tok, err := decodeToken(r)
	if err != nil {
		return err
	}
	s.token = tok.AccessToken
	return nil
}

// extraFieldsTolerated sends a form field the spec does not list, as a newer
// client might; the API must still issue a token.
func extraFieldsTolerated(ctx context.Context, s *session) error {
	form := url.Values{
		"partnerId":     {s.target.PartnerID},
		"partnerSecret": {s.target.PartnerSecret},
		"clientVersion": {"conformance"},
	}
	r, err := read(s.client.CreateAccessTokenWithBody(ctx, "application/x-www-form-urlencoded",
		strings.NewReader(form.Encode())))
	if err != nil {
		return err
	}
	_, err = decodeToken(r)
	return err
}

func tokenMissingField(ctx context.Context, s *session) error {
	form := url.Values{"partnerId": {s.target.PartnerID}}
	r, err := read(s.client.CreateAccessTokenWithBody(ExpectInvalidRequest(ctx),
		"application/x-www-form-urlencoded", strings.NewReader(form.Encode())))
	if err != nil {
		return err
	}
	return wantError(r, http.StatusBadRequest)
}

// tokenJSONBody sends the credentials as JSON, the usual mistake; the spec
// takes a form only.
func tokenJSONBody(ctx context.Context, s *session) error {
	body, err := json.Marshal(api.TokenRequest{PartnerId: s.target.PartnerID, PartnerSecret: s.target.PartnerSecret})
	if err != nil {
		return err
	}
	r, err := read(s.client.CreateAccessTokenWithBody(ExpectInvalidRequest(ctx),
		"application/json", strings.NewReader(string(body))))
	if err != nil {
		return err
	}
	return wantError(r, http.StatusBadRequest)
}

func tokenWrongSecret(ctx context.Context, s *session) error {
	wrong := "not-the-secret"
	if wrong == s.target.PartnerSecret {
		wrong += "!"
	}
	r, err := read(s.client.CreateAccessTokenWithFormdataBody(ctx,
		api.TokenRequest{PartnerId: s.target.PartnerID, PartnerSecret: wrong}))
	if err != nil {
		return err
	}
	return wantError(r, http.StatusUnauthorized)
}

func goldRate(ctx context.Context, s *session) error {
	r, err := s.send(ctx, opRate)
	if err != nil {
		return err
	}
	return checkGoldRate(r)
}

// fraction reports whether d is in [0, 1).
func fraction(d decimal.Decimal) bool { return !d.IsNegative() && d.LessThan(decimal.NewFromInt(1)) }

func checkGoldRate(r response) error {
	if err := wantStatus(r, http.StatusOK); err != nil {
		return err
	}
	var gr api.GoldRateResponse
	if err := decodeJSON(r, &gr, &gr.Success); err != nil {
		return err
	}
	d := gr.Data
	switch {
	case !d.Rate.IsPositive():
		return fmt.Errorf("rate = %s; want > 0", d.Rate)
	case !fraction(d.CgstRate.Decimal):
		return fmt.Errorf("cgstRate = %s; want a fraction in [0, 1)", d.CgstRate)
	case !fraction(d.SgstRate.Decimal):
		return fmt.Errorf("sgstRate = %s; want a fraction in [0, 1)", d.SgstRate)
	case d.UpdatedAt.IsZero():
		return errors.New("updatedAt is the zero time")
	}
	return nil
}

func userFound(ctx context.Context, s *session) error {
	r, err := s.send(ctx, opUser)
	if err != nil {
		return err
	}
	if err := wantStatus(r, http.StatusOK); err != nil {
		return err
	}
	var ur api.UserInfoResponse
	if err := decodeJSON(r, &ur, &ur.Success); err != nil {
		return err
	}
	if got := ur.Data.MobileNumber; got != s.target.MobileNumber {
		return fmt.Errorf("mobileNumber = %q; want %q", got, s.target.MobileNumber)
	}
	if ur.Data.Id == "" {
		return errors.New("empty id")
	}
	return nil
}

// withMobile replaces the path's mobile number.
func withMobile(number string) api.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		p := req.URL.Path
		req.URL.Path = p[:strings.LastIndex(p, "/")+1] + number
		req.URL.RawPath = ""
		return nil
	}
}

func userNotFound(ctx context.Context, s *session) error {
	r, err := s.send(ctx, opUser, withMobile(s.target.UnknownMobileNumber))
	if err != nil {
		return err
	}
	return wantError(r, http.StatusNotFound)
}

func userBadNumber(ctx context.Context, s *session) error {
	r, err := s.send(ExpectInvalidRequest(ctx), opUser, withMobile("12345"))
	if err != nil {
		return err
	}
	return wantError(r, http.StatusBadRequest)
}

// unauthorized sends op with its bearer token spoiled by edit. A missing or
// malformed header breaks the spec's security requirement (breaksSpec); a
// forged token is well formed.
func unauthorized(op string, edit api.RequestEditorFn, breaksSpec bool) func(context.Context, *session) error {
	return func(ctx context.Context, s *session) error {
		if breaksSpec {
			ctx = ExpectInvalidRequest(ctx)
		}
		r, err := s.send(ctx, op, edit)
		if err != nil {
			return err
		}
		return wantError(r, http.StatusUnauthorized)
	}
}

// expiredBearer waits out a fresh token's lifetime (expiresIn, as the API
// said) and sends it.
func expiredBearer(ctx context.Context, s *session) error {
	r, err := s.send(ctx, opToken)
	if err != nil {
		return err
	}
	tok, err := decodeToken(r)
	if err != nil {
		return fmt.Errorf("get a token to expire: %w", err)
	}
	if err := s.opts.Sleep(ctx, time.Duration(tok.ExpiresIn)*time.Second+resetMargin); err != nil {
		return err
	}
	s.token = "" // expired as well; later cases get a new one
	r, err = s.send(ctx, opRate, bearer(tok.AccessToken))
	if err != nil {
		return err
	}
	return wantError(r, http.StatusUnauthorized)
}

func fault(op string) func(context.Context, *session) error {
	return func(ctx context.Context, s *session) error {
		r, err := s.send(ctx, op, func(_ context.Context, req *http.Request) error {
			req.Header.Set(FaultHeader, "500")
			return nil
		})
		if err != nil {
			return err
		}
		return wantError(r, http.StatusInternalServerError)
	}
}
