package milligold

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/milligold/milligold-go/gen/api"
)

// redacted stands in for secrets and tokens wherever a value is printed.
const redacted = "[REDACTED]"

// Token is an access token. It is a plain value, safe to copy and share.
// Printing it with any fmt verb or logging it with slog shows the expiry but
// never AccessToken; read the field itself when you mean to.
type Token struct {
	AccessToken string    `json:"accessToken"`
	ExpiresAt   time.Time `json:"expiresAt"` // by the local clock
}

// ExpiresIn is how long the token has left at now; never negative.
func (t Token) ExpiresIn(now time.Time) time.Duration {
	return max(t.ExpiresAt.Sub(now), 0)
}

// String redacts AccessToken.
func (t Token) String() string {
	if t.AccessToken == "" {
		return "milligold.Token{}"
	}
	return "milligold.Token{AccessToken: " + redacted + ", ExpiresAt: " + t.ExpiresAt.Format(time.RFC3339) + "}"
}

// Format makes every verb (%v, %+v, %#v, %s, %q, %x…) print String.
func (t Token) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// LogValue keeps the token out of slog output.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessToken", redacted), slog.Time("expiresAt", t.ExpiresAt))
}

// GoldRate is the current gold rate per gram and the GST on it. GST rates are
// fractions (0.015 is 1.5%).
type GoldRate struct {
	Rate      float64   `json:"rate"`
	CGSTRate  float64   `json:"cgstRate"`
	SGSTRate  float64   `json:"sgstRate"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// GSTRate is the total GST as a fraction: CGST plus SGST.
func (g GoldRate) GSTRate() float64 { return g.CGSTRate + g.SGSTRate }

// PriceWithGST is the price of one gram with CGST and SGST included.
func (g GoldRate) PriceWithGST() float64 { return g.Rate * (1 + g.GSTRate()) }

// Gender is a user's gender as the API reports it. The set is open: a value
// this package does not name is kept as it came.
type Gender string

// Genders the API document shows.
const GenderMale Gender = "MALE"

// User is a milliGOLD user. Birthday, Address and Pincode are nil when the
// API sends null or leaves them out.
type User struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Email        string  `json:"email"`
	CountryCode  string  `json:"countryCode"`
	MobileNumber string  `json:"mobileNumber"`
	Gender       Gender  `json:"gender"`
	Birthday     *string `json:"birthday"`
	UPIID        string  `json:"upiId"`
	Address      *string `json:"address"`
	Pincode      *string `json:"pincode"`
	GoldBalance  float64 `json:"goldBalance"`
}

func goldRateFrom(r api.GoldRate) GoldRate {
	return GoldRate{Rate: r.Rate, CGSTRate: r.CgstRate, SGSTRate: r.SgstRate, UpdatedAt: r.UpdatedAt}
}

func userFrom(u api.User) User {
	return User{
		ID:           u.Id,
		Name:         u.Name,
		Email:        u.Email,
		CountryCode:  u.CountryCode,
		MobileNumber: u.MobileNumber,
		Gender:       Gender(u.Gender),
		Birthday:     u.Birthday,
		UPIID:        u.UpiId,
		Address:      u.Address,
		Pincode:      u.Pincode,
		GoldBalance:  u.GoldBalance,
	}
}
