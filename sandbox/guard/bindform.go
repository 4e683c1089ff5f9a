package guard

import (
	"net/url"
	"reflect"
	"strings"
	"sync"

	"github.com/oapi-codegen/runtime"
)

// BindForm binds form into *dst as oapi-codegen's runtime.BindForm does
// (with no files and no encodings), field for field. For a struct whose
// form fields are all string or *string, which is what a form of plain
// string properties generates, it sets the fields from a plan made once per
// type: runtime.BindForm walks the type and converts each value through
// reflection on every request, a few percent of a token request. Any other
// struct goes to runtime.BindForm.
func BindForm[T any](dst *T, form url.Values) error {
	plan := formPlanOf(reflect.TypeFor[T]())
	if plan == nil {
		return runtime.BindForm(dst, form, nil, nil)
	}
	v := reflect.ValueOf(dst).Elem()
	for _, f := range plan {
		values := form[f.name]
		if len(values) == 0 {
			continue // runtime.BindForm leaves an absent field alone
		}
		field := v.Field(f.index)
		if f.pointer && field.IsNil() {
			s := values[0]
			field.Set(reflect.ValueOf(&s))
		} else if f.pointer {
			field.Elem().SetString(values[0]) // runtime.BindForm fills a set pointer in place
		} else {
			field.SetString(values[0])
		}
	}
	return nil
}

// formField is a string or *string field and the form key that fills it.
type formField struct {
	index   int
	name    string
	pointer bool
}

var formPlans sync.Map // reflect.Type → []formField; nil for a type runtime.BindForm binds

// formPlanOf returns t's plan, or nil when t has a field the plan cannot
// bind exactly as runtime.BindForm would.
func formPlanOf(t reflect.Type) []formField {
	if p, ok := formPlans.Load(t); ok {
		return p.([]formField)
	}
	p := makeFormPlan(t)
	formPlans.Store(t, p)
	return p
}

func makeFormPlan(t reflect.Type) []formField {
	if t.Kind() != reflect.Struct {
		return nil
	}
	plan := []formField{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := formTag(sf)
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case sf.Type == reflect.TypeFor[string]():
			plan = append(plan, formField{index: i, name: name})
		case sf.Type == reflect.TypeFor[*string]():
			plan = append(plan, formField{index: i, name: name, pointer: true})
		default:
			return nil // named string types, numbers, slices, structs, maps: runtime.BindForm
		}
	}
	return plan
}

// formTag is the name runtime.BindForm binds a field by: its form tag, else
// its json tag (runtime's formFieldTag).
func formTag(f reflect.StructField) string {
	if tag := f.Tag.Get("form"); tag != "" {
		return tag
	}
	return f.Tag.Get("json")
}
