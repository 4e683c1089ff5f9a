package guard

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/oapi-codegen/runtime"
)

// Form bodies as oapi-codegen generates them, and some it might.
type (
	tokenForm struct {
		PartnerId     string `form:"partnerId" json:"partnerId"`
		PartnerSecret string `form:"partnerSecret" json:"partnerSecret"`
	}
	optionalForm struct {
		Name    *string `json:"name,omitempty"` // no form tag: the json name binds
		Note    *string `form:"note,omitempty" json:"n"`
		Skipped string  `form:"-" json:"skipped"`
		hidden  string  //nolint:unused // unexported: never bound
		Plain   string
	}
	numberForm struct { // falls back to runtime.BindForm
		Grams int    `form:"grams"`
		Item  string `form:"item"`
	}
	namedString string
	namedForm   struct { // a named string type: runtime.BindForm
		Kind namedString `form:"kind"`
	}
)

func TestFormPlans(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		plan bool
	}{
		{reflect.TypeFor[tokenForm](), true},
		{reflect.TypeFor[optionalForm](), true},
		{reflect.TypeFor[numberForm](), false},
		{reflect.TypeFor[namedForm](), false},
		{reflect.TypeFor[string](), false},
	} {
		if got := formPlanOf(tc.typ) != nil; got != tc.plan {
			t.Errorf("formPlanOf(%v) != nil is %v; want %v", tc.typ, got, tc.plan)
		}
	}
}

// bindBoth binds form with BindForm and runtime.BindForm into copies of
// start and fails when the results or the errors differ.
func bindBoth[T any](t *testing.T, start T, form url.Values) {
	t.Helper()
	ours, theirs := start, start
	errOurs := BindForm(&ours, form)
	errTheirs := runtime.BindForm(&theirs, form, nil, nil)
	if (errOurs == nil) != (errTheirs == nil) || (errOurs != nil && errOurs.Error() != errTheirs.Error()) {
		t.Fatalf("form %q into %T: error %v; runtime.BindForm's %v", form, start, errOurs, errTheirs)
	}
	if !reflect.DeepEqual(ours, theirs) {
		t.Fatalf("form %q into %T: %+v; runtime.BindForm gives %+v", form, start, ours, theirs)
	}
}

func checkAllForms(t *testing.T, form url.Values) {
	preset, other := "preset", "other"
	bindBoth(t, tokenForm{}, form)
	bindBoth(t, tokenForm{PartnerId: "kept?"}, form)
	bindBoth(t, optionalForm{}, form)
	bindBoth(t, optionalForm{Name: &preset, Note: &other, Skipped: "s", hidden: "h"}, form)
	bindBoth(t, numberForm{}, form)
	bindBoth(t, namedForm{}, form)
}

func TestBindFormMatchesRuntime(t *testing.T) {
	for _, q := range []string{
		"", "partnerId=p1&partnerSecret=s1", "partnerId=a&partnerId=b", "partnerId=&partnerSecret=",
		"name=n&note=x&skipped=no&hidden=no&Plain=p", "n=1&name=", "grams=12&item=coin", "grams=twelve",
		"kind=bar", "partnerId%5B%5D=x&partnerSecret[0]=y", "=empty-key",
	} {
		form, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		checkAllForms(t, form)
	}
}

func TestBindFormPointerIsNotShared(t *testing.T) {
	var a, b optionalForm
	form := url.Values{"name": {"x"}}
	if err := BindForm(&a, form); err != nil {
		t.Fatal(err)
	}
	if err := BindForm(&b, form); err != nil {
		t.Fatal(err)
	}
	*a.Name = "changed"
	if *b.Name != "x" {
		t.Fatalf("two bindings share a pointer: %q", *b.Name)
	}
}

func FuzzBindForm(f *testing.F) {
	for _, q := range []string{"partnerId=p1&partnerSecret=s1", "name=n&note=x&Plain=p&grams=1", "kind=x&item=%zz"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		form, _ := url.ParseQuery(q) // what parses, as net/http keeps it
		checkAllForms(t, form)
	})
}

func BenchmarkBindForm(b *testing.B) {
	form := url.Values{"partnerId": {"partner-1"}, "partnerSecret": {"secret-1"}}
	b.Run("guard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var body tokenForm
			if err := BindForm(&body, form); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("runtime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var body tokenForm
			if err := runtime.BindForm(&body, form, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
