package milligold

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/money"
)

func dec(s string) money.Decimal { return money.MustParse(s) }

func rateOf(rate, cgst, sgst string) GoldRate {
	return GoldRate{Rate: dec(rate), CGSTRate: dec(cgst), SGSTRate: dec(sgst)}
}

// The wanted values are worked by hand. The float64 column is what the old
// float64 arithmetic gave, to show each row is one float64 gets wrong.
func TestGoldRatePriceWithGST(t *testing.T) {
	tests := []struct {
		name          string
		rate          GoldRate
		wantGST, want string
		float64Got    float64 // rate * (1 + cgst + sgst) in float64
	}{
		{"document: 1111 × 1.03", rateOf("1111", "0.015", "0.015"), "0.03", "1144.33", 1111 * (1 + (0.015 + 0.015))},
		{"no GST", rateOf("6000", "0", "0"), "0", "6000", 6000},
		{"fractional rate: 7234.56 × 1.03", rateOf("7234.56", "0.015", "0.015"), "0.03", "7451.5968", 7234.56 * (1 + (0.015 + 0.015))},
		{"0.1 + 0.2 GST", rateOf("100", "0.1", "0.2"), "0.3", "130", 100 * (1 + (0.1 + 0.2))},
		{"only CGST", rateOf("100", "0.025", "0"), "0.025", "102.5", 102.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rate.GSTRate(); !got.Equal(dec(tt.wantGST).Decimal) {
				t.Errorf("GSTRate() = %s; want %s", got, tt.wantGST)
			}
			if got := tt.rate.PriceWithGST(); got.String() != tt.want {
				t.Errorf("PriceWithGST() = %s; want %s", got, tt.want)
			}
		})
	}
}

// TestFloat64GetsTheseWrong keeps the test above honest: the values it
// checks are ones binary floating point does not produce.
func TestFloat64GetsTheseWrong(t *testing.T) {
	rate, cgst, sgst := 1111.0, 0.015, 0.015
	if got := rate * (1 + cgst + sgst); got == 1144.33 {
		t.Errorf("float64 1111 × 1.03 = %v: the exactness test no longer shows anything", got)
	}
	a, b := 0.1, 0.2
	if a+b == 0.3 {
		t.Error("float64 0.1 + 0.2 == 0.3: the exactness test no longer shows anything")
	}
}

func TestGoldRatePriceForRoundsUpToThePaisa(t *testing.T) {
	doc := rateOf("1111", "0.015", "0.015") // 1144.33 a gram with GST
	tests := []struct{ grams, want string }{
		{"1", "1144.33"},
		{"0", "0"},
		{"0.0001", "0.12"},   // 0.114433 → 0.12
		{"0.5", "572.17"},    // 572.165 → 572.17 (up, not half-even's 572.16)
		{"0.1234", "141.22"}, // 141.210322 → 141.22
		{"2.5", "2860.83"},   // 2860.825 → 2860.83
		{"10", "11443.3"},    // exact
	}
	for _, tt := range tests {
		if got := doc.PriceFor(dec(tt.grams)); !got.Equal(dec(tt.want).Decimal) {
			t.Errorf("PriceFor(%s g) = %s; want %s", tt.grams, got, tt.want)
		}
	}
	// Against a fractional rate: 7234.56 × 1.03 = 7451.5968 a gram.
	if got := rateOf("7234.56", "0.015", "0.015").PriceFor(dec("1")); got.String() != "7451.6" {
		t.Errorf("PriceFor(1 g) at 7234.56 = %s; want 7451.6 (7451.5968 up to the paisa)", got)
	}
}

func TestGoldRateGramsForRoundsDownTo4Places(t *testing.T) {
	doc := rateOf("1111", "0.015", "0.015") // 1144.33 a gram with GST
	tests := []struct{ rupees, want string }{
		{"1144.33", "1"},
		{"0", "0"},
		{"1000", "0.8738"},    // 0.87387... → 0.8738
		{"100", "0.0873"},     // 0.087387... → 0.0873
		{"0.11", "0"},         // 0.0000961... → 0
		{"0.12", "0.0001"},    // 0.000104... → 0.0001
		{"2288.66", "2"},      // exact
		{"2288.65", "1.9999"}, // 1.99999126... → 1.9999, never up to 2
	}
	for _, tt := range tests {
		got, err := doc.GramsFor(dec(tt.rupees))
		if err != nil {
			t.Fatalf("GramsFor(%s) = %v", tt.rupees, err)
		}
		if !got.Equal(dec(tt.want).Decimal) {
			t.Errorf("GramsFor(₹%s) = %s g; want %s g", tt.rupees, got, tt.want)
		}
		// The two directions agree: the gold bought never costs more than paid.
		if cost := doc.PriceFor(got); cost.GreaterThan(dec(tt.rupees).Decimal) {
			t.Errorf("PriceFor(GramsFor(₹%s)) = ₹%s; more than was paid", tt.rupees, cost)
		}
	}
	// 1 rupee less than 9 digits of 9s: a quotient whose 16th digit rounds
	// up would carry into the 4th place; truncation must not.
	r := rateOf("1", "0", "0")
	if got, _ := r.GramsFor(dec("0.99999999999999999999")); got.String() != "0.9999" {
		t.Errorf("GramsFor(0.99999999999999999999) at 1/g = %s; want 0.9999", got)
	}
	if got, _ := rateOf("3", "0", "0").GramsFor(dec("2.9999")); got.String() != "0.9999" {
		t.Errorf("GramsFor(2.9999) at 3/g = %s; want 0.9999 (0.99996… down)", got)
	}
}

func TestGoldRateGramsForRefuses(t *testing.T) {
	if _, err := (GoldRate{}).GramsFor(dec("1")); err == nil || !strings.Contains(err.Error(), "price with GST is 0") {
		t.Errorf("zero GoldRate.GramsFor = %v; want a price error", err)
	}
	if _, err := rateOf("1111", "0.015", "0.015").GramsFor(dec("-1")); err == nil {
		t.Error("GramsFor(-1) = nil error; want one")
	}
}

// TestGoldRateJSONIsExact decodes the API's numbers into the client's types
// and back: the digits survive, and they are numbers, not strings.
func TestGoldRateJSONIsExact(t *testing.T) {
	const in = `{"rate":7234.56,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}`
	var g GoldRate
	if err := json.Unmarshal([]byte(in), &g); err != nil {
		t.Fatal(err)
	}
	if g.Rate.String() != "7234.56" || g.PriceWithGST().String() != "7451.5968" {
		t.Errorf("decoded rate %s, with GST %s; want 7234.56, 7451.5968", g.Rate, g.PriceWithGST())
	}
	out, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"rate":7234.56,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}`; string(out) != want {
		t.Errorf("json.Marshal = %s; want %s", out, want)
	}
}
