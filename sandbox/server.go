package sandbox

import (
	"context"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apiserver"
)

// server implements the generated strict server over the sandbox's world.
// The operations with behaviour are written here; every other operation of
// the spec answers its documented example (apiserver.Examples), so a new
// operation in openapi.yaml needs no line here.
type server struct {
	apiserver.Examples
	s *Sandbox
}

var _ api.StrictServerInterface = (*server)(nil)

func (h *server) CreateAccessToken(ctx context.Context, req api.CreateAccessTokenRequestObject) (api.CreateAccessTokenResponseObject, error) {
	s := h.s
	if req.Body == nil || req.Body.PartnerId == "" || req.Body.PartnerSecret == "" {
		return api.CreateAccessToken400JSONResponse{BadRequestJSONResponse: api.BadRequestJSONResponse(s.envelope(ctx, 400, "partnerId and partnerSecret are required"))}, nil
	}
	p, ok := s.verified(ctx, req.Body.PartnerId, req.Body.PartnerSecret)
	if !ok {
		return api.CreateAccessToken401JSONResponse{UnauthorizedJSONResponse: api.UnauthorizedJSONResponse(s.envelope(ctx, 401, "invalid partner credentials"))}, nil
	}
	info(ctx).partner = p.ID
	if info(ctx).fault {
		return api.CreateAccessToken500JSONResponse{InternalServerErrorJSONResponse: api.InternalServerErrorJSONResponse(s.envelope(ctx, 500, "injected fault"))}, nil
	}
	token, issued, err := s.signer.issueAt(p, s.requestTime(ctx))
	if err != nil {
		return nil, err
	}
	// The signer's tokens are base64url and dots: JSON needs no escapes.
	return s.plainTokenAnswer(api.CreateAccessToken200JSONResponse{Success: true, Data: api.AccessToken{
		AccessToken: token,
		ExpiresIn:   int64(s.signer.lifetime.Seconds()),
		CreatedAt:   issued.Unix(),
	}}), nil
}

func (h *server) GetGoldRate(ctx context.Context, _ api.GetGoldRateRequestObject) (api.GetGoldRateResponseObject, error) {
	if info(ctx).fault {
		return api.GetGoldRate500JSONResponse{InternalServerErrorJSONResponse: api.InternalServerErrorJSONResponse(h.s.envelope(ctx, 500, "injected fault"))}, nil
	}
	if a := h.s.world.rateAnswer; a != nil {
		return a, nil
	}
	return api.GetGoldRate200JSONResponse{Success: true, Data: h.s.world.rate}, nil
}

func (h *server) GetUserInfo(ctx context.Context, req api.GetUserInfoRequestObject) (api.GetUserInfoResponseObject, error) {
	if info(ctx).fault {
		return api.GetUserInfo500JSONResponse{InternalServerErrorJSONResponse: api.InternalServerErrorJSONResponse(h.s.envelope(ctx, 500, "injected fault"))}, nil
	}
	if a, ok := h.s.world.userAnswers[req.MobileNumber]; ok {
		return a, nil
	}
	u, ok := h.s.world.users[req.MobileNumber]
	if !ok {
		return api.GetUserInfo404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse(h.s.envelope(ctx, 404, "The requested resource was not found"))}, nil
	}
	return api.GetUserInfo200JSONResponse{Success: true, Data: u}, nil
}
