package money

import (
	"encoding/json"
	"strings"
	"testing"
)

var jsonCases = []struct {
	name, in, want string // want is the re-encoded number; "" means an error
}{
	{"integer", "1111", "1111"},
	{"fraction", "0.015", "0.015"},
	{"float64 cannot hold it", "0.1", "0.1"},
	{"more digits than float64", "12345678901234.567891", "12345678901234.567891"},
	{"exponent", "1.5e3", "1500"},
	{"negative exponent", "15E-4", "0.0015"},
	{"negative", "-2.5", "-2.5"},
	{"trailing zeros", "1.50", "1.5"},
	{"string", `"1111"`, ""},
	{"null", "null", ""},
	{"boolean", "true", ""},
	{"object", "{}", ""},
	{"too many digits", "1e300", ""},
	{"too small", "1e-300", ""},
}

func TestDecimalJSON(t *testing.T) {
	for _, tc := range jsonCases {
		t.Run(tc.name, func(t *testing.T) {
			var v struct {
				D Decimal `json:"d"`
			}
			err := json.Unmarshal([]byte(`{"d":`+tc.in+`}`), &v)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %s; want an error", tc.in, v.D)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tc.in, err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"d":` + tc.want + `}`; string(out) != want {
				t.Errorf("Marshal(Unmarshal(%s)) = %s; want %s", tc.in, out, want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	if d, err := Parse("0.30"); err != nil || d.String() != "0.3" {
		t.Errorf(`Parse("0.30") = %s, %v; want 0.3`, d, err)
	}
	if _, err := Parse("1,5"); err == nil {
		t.Error(`Parse("1,5") = nil error; want one`)
	}
	defer func() {
		if recover() == nil {
			t.Error(`MustParse("x") did not panic`)
		}
	}()
	MustParse("x")
}

// FuzzDecimalJSON: no input panics; what decodes re-encodes to a number that
// decodes to the same value, and never prints more than MaxDigits digits.
func FuzzDecimalJSON(f *testing.F) {
	for _, tc := range jsonCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var d Decimal
		if err := d.UnmarshalJSON([]byte(in)); err != nil {
			return
		}
		out, err := d.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.TrimLeft(string(out), "-0.")) > 2*MaxDigits+2 {
			t.Fatalf("%q encodes as %d bytes", in, len(out))
		}
		var back Decimal
		if err := json.Unmarshal(out, &back); err != nil || !back.Equal(d.Decimal) {
			t.Fatalf("%q → %s → %s, %v", in, out, back, err)
		}
	})
}
