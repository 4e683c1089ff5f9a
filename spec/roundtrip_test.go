package spec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apiserver"
	"github.com/milligold/milligold-go/money"
)

// fixture is a minimal strict-server implementation: just enough to prove that
// the generated client and server agree on the wire for every operation.
type fixture struct {
	apiserver.Examples // a new operation answers its example
	gotForm            *api.CreateAccessTokenFormdataRequestBody
}

var _ api.StrictServerInterface = (*fixture)(nil)

var fixtureRate = api.GoldRate{Rate: money.MustParse("1111"), CgstRate: money.MustParse("0.015"), SgstRate: money.MustParse("0.015"), UpdatedAt: time.Date(2023, 1, 5, 9, 17, 3, 459e6, time.UTC)}

func (f *fixture) CreateAccessToken(_ context.Context, req api.CreateAccessTokenRequestObject) (api.CreateAccessTokenResponseObject, error) {
	f.gotForm = req.Body
	if req.Body.PartnerSecret != "s3cret" {
		return api.CreateAccessToken401JSONResponse{UnauthorizedJSONResponse: api.UnauthorizedJSONResponse{Error: "bad credentials", ErrorCode: "e1"}}, nil
	}
	return api.CreateAccessToken200JSONResponse{Success: true, Data: api.AccessToken{AccessToken: "tok", ExpiresIn: 3600, CreatedAt: 1688994271}}, nil
}

func (f *fixture) GetGoldRate(context.Context, api.GetGoldRateRequestObject) (api.GetGoldRateResponseObject, error) {
	return api.GetGoldRate200JSONResponse{Success: true, Data: fixtureRate}, nil
}

func (f *fixture) GetUserInfo(_ context.Context, req api.GetUserInfoRequestObject) (api.GetUserInfoResponseObject, error) {
	if req.MobileNumber != "1234567890" {
		return api.GetUserInfo404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse{Error: "The requested resource was not found", ErrorCode: "3d1c75d0-37ee-4530-b281-4ab9c597f2bb"}}, nil
	}
	return api.GetUserInfo200JSONResponse{Success: true, Data: api.User{Id: "u1", Name: "Test User", MobileNumber: req.MobileNumber, Gender: "MALE"}}, nil
}

// newRoundTrip serves the fixture under /partner, as the real API does, so a
// client that loses the base path fails.
func newRoundTrip(t *testing.T) (*fixture, *api.ClientWithResponses) {
	t.Helper()
	f := &fixture{}
	mux := http.NewServeMux()
	api.HandlerWithOptions(api.NewStrictHandler(f, nil), api.StdHTTPServerOptions{BaseURL: "/partner", BaseRouter: mux})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := api.NewClientWithResponses(srv.URL + "/partner")
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	f, c := newRoundTrip(t)

	t.Run("createAccessToken form body", func(t *testing.T) {
		res, err := c.CreateAccessTokenWithFormdataBodyWithResponse(ctx, api.CreateAccessTokenFormdataRequestBody{PartnerId: "p1", PartnerSecret: "s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 200 || res.JSON200 == nil || res.JSON200.Data.AccessToken != "tok" || res.JSON200.Data.ExpiresIn != 3600 {
			t.Fatalf("token response = %d %s", res.StatusCode(), res.Body)
		}
		if ct := res.HTTPResponse.Request.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("request Content-Type = %q; want form", ct)
		}
		if f.gotForm == nil || f.gotForm.PartnerId != "p1" {
			t.Errorf("server decoded form = %+v; want partnerId p1", f.gotForm)
		}
	})
	t.Run("createAccessToken 401", func(t *testing.T) {
		res, err := c.CreateAccessTokenWithFormdataBodyWithResponse(ctx, api.CreateAccessTokenFormdataRequestBody{PartnerId: "p1", PartnerSecret: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 401 || res.JSON401 == nil || res.JSON401.ErrorCode != "e1" {
			t.Fatalf("401 response = %d %s", res.StatusCode(), res.Body)
		}
	})
	t.Run("getGoldRate", func(t *testing.T) {
		res, err := c.GetGoldRateWithResponse(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := res.JSON200; d == nil || !d.Data.Rate.Equal(fixtureRate.Rate.Decimal) || !d.Data.CgstRate.Equal(fixtureRate.CgstRate.Decimal) ||
			!d.Data.SgstRate.Equal(fixtureRate.SgstRate.Decimal) || !d.Data.UpdatedAt.Equal(fixtureRate.UpdatedAt) {
			t.Fatalf("gold rate = %d %s; want %+v", res.StatusCode(), res.Body, fixtureRate)
		}
	})
	t.Run("getUserInfo", func(t *testing.T) {
		res, err := c.GetUserInfoWithResponse(ctx, "1234567890")
		if err != nil {
			t.Fatal(err)
		}
		if res.JSON200 == nil || res.JSON200.Data.MobileNumber != "1234567890" {
			t.Fatalf("user = %d %s", res.StatusCode(), res.Body)
		}
	})
	t.Run("getUserInfo 404", func(t *testing.T) {
		res, err := c.GetUserInfoWithResponse(ctx, "9999999999")
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != 404 || res.JSON404 == nil || res.JSON404.Error != "The requested resource was not found" {
			t.Fatalf("404 = %d %s", res.StatusCode(), res.Body)
		}
	})
}

func response(status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

// TestForwardCompatibility decodes the document's responses grown the way the
// breaking-changes policy allows: new fields, a new gender, new statuses.
func TestForwardCompatibility(t *testing.T) {
	t.Run("user with new fields and gender", func(t *testing.T) {
		body := `{"success":true,"newTopLevel":{"x":1},"data":{"id":"cljwvd2x20001mm0gg0a9z5px","name":"Test User","email":"test@example.com","countryCode":"91","mobileNumber":"1234567890","gender":"NON_BINARY","birthday":null,"upiId":"milligold.911234567890@icici","address":null,"pincode":null,"goldBalance":0.125,"kycStatus":"VERIFIED","tags":["a"]}}`
		res, err := api.ParseGetUserInfoResponse(response(200, body))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		u := res.JSON200.Data
		if u.Gender != "NON_BINARY" || u.GoldBalance.String() != "0.125" || u.Birthday != nil || u.MobileNumber != "1234567890" {
			t.Errorf("user = %+v; want gender NON_BINARY, balance 0.125, nil birthday", u)
		}
	})
	t.Run("gold rate with new fields", func(t *testing.T) {
		body := `{"success":true,"data":{"rate":1111.5,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z","currency":"INR","igstRate":0.03}}`
		res, err := api.ParseGetGoldRateResponse(response(200, body))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if res.JSON200.Data.Rate.String() != "1111.5" {
			t.Errorf("rate = %v; want 1111.5", res.JSON200.Data.Rate)
		}
	})
	t.Run("token with new fields", func(t *testing.T) {
		body := `{"success":true,"data":{"accessToken":"t","expiresIn":7200,"createdAt":1688994271,"tokenType":"Bearer","scope":["read"]}}`
		res, err := api.ParseCreateAccessTokenResponse(response(200, body))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if res.JSON200.Data.ExpiresIn != 7200 {
			t.Errorf("expiresIn = %d; want 7200", res.JSON200.Data.ExpiresIn)
		}
	})
	t.Run("undocumented status with reworded error", func(t *testing.T) {
		body := `{"success":false,"error":"Something new went wrong","errorCode":"x","hint":"retry"}`
		res, err := api.ParseGetGoldRateResponse(response(503, body))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if res.StatusCode() != 503 || !bytes.Contains(res.Body, []byte("Something new")) {
			t.Errorf("503 = %d %s; want the raw body kept", res.StatusCode(), res.Body)
		}
	})
	t.Run("error with new fields", func(t *testing.T) {
		body := `{"success":false,"error":"The requested resource was not found","errorCode":"3d1c75d0-37ee-4530-b281-4ab9c597f2bb","details":{"field":"mobileNumber"}}`
		res, err := api.ParseGetUserInfoResponse(response(404, body))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if res.JSON404 == nil || res.JSON404.ErrorCode != "3d1c75d0-37ee-4530-b281-4ab9c597f2bb" {
			t.Errorf("404 = %+v", res.JSON404)
		}
	})
}

// errReader proves Parse surfaces a broken body as an error, not a panic.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestParseBrokenBody(t *testing.T) {
	_, err := api.ParseGetGoldRateResponse(&http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(errReader{})})
	if err == nil {
		t.Fatal("ParseGetGoldRateResponse(broken body) = nil error; want the read error")
	}
}
