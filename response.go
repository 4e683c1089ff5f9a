package milligold

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/tokens"
)

// readAnswer takes resp as op's answer: a redirect becomes *RedirectError,
// another non-2xx *APIError or *RateLimitError, and a 2xx that is not the
// documented one (status 200, application/json, the success envelope with
// every required field of data) *UnexpectedResponseError. Otherwise it
// decodes the body into dst, a pointer to op's generated envelope type
// (*api.GoldRateResponse, say) or a pointer to a pointer to it. It reads at most maxBody bytes and always
// closes the body.
func (c *Client) readAnswer(op string, resp *http.Response, dst any) error {
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		return c.redirectError(op, resp)
	}
	if err := c.check(op, resp); err != nil {
		return err
	}
	ct := resp.Header.Get("Content-Type")
	unexpected := func(reason string, body []byte, err error) error {
		if op == opCreateAccessToken {
			// A token answer refused is not a token held: redaction would
			// not know it, so none of that body is kept.
			body = nil
		}
		return &UnexpectedResponseError{
			Operation:   op,
			StatusCode:  resp.StatusCode,
			ContentType: truncate(oneLine(c.redact(ct)), snippetLen),
			Reason:      reason,
			Body:        truncate(c.redact(string(body)), snippetLen),
			Err:         err,
		}
	}
	if want := successStatus(op); resp.StatusCode != want {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return unexpected(fmt.Sprintf("the spec documents %d %s", want, http.StatusText(want)), body, nil)
	}
	if !isJSON(ct) {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return unexpected(fmt.Sprintf("content type %q; want application/json", truncate(oneLine(c.redact(ct)), 64)), body, nil)
	}
	body, err := readAnswerBody(resp)
	if err != nil {
		return c.fail(op, fmt.Errorf("read response: %w", err))
	}
	if len(body) > maxBody {
		return unexpected(fmt.Sprintf("body over %d bytes", maxBody), body[:maxErrorBody], nil)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		reason, _ := checkEnvelope(body, dst)
		if reason == "" {
			reason = "decode: " + err.Error()
		}
		return unexpected(c.redact(reason), body, err)
	}
	// A complete answer shows in what was decoded: success true and every
	// required field non-zero. Only otherwise is the body read again, to
	// tell a field that is zero from one that is missing or null.
	if !complete(dst) {
		if reason, err := checkEnvelope(body, dst); reason != "" {
			return unexpected(c.redact(reason), body, err)
		}
	}
	return nil
}

// readAnswerBody reads at most maxBody+1 bytes of resp's body: a GET's
// body, which the read layer has read already (bounded the same way), as it
// is; any other's into a buffer of its Content-Length.
func readAnswerBody(resp *http.Response) ([]byte, error) {
	if bb, ok := resp.Body.(*bufferedBody); ok {
		if b, ok := bb.whole(); ok && len(b) <= maxBody+1 {
			return b, nil
		}
	}
	return readBounded(resp.Body, resp.ContentLength, maxBody+1)
}

// successStatus is op's documented 2xx status (the generated table's), 200
// for an operation the table lacks.
func successStatus(op string) int {
	if o, ok := middleware.OperationByID(op); ok && o.Success != 0 {
		return o.Success
	}
	return http.StatusOK
}

// isJSON reports whether a Content-Type is application/json, with or
// without parameters (mime.ParseMediaType, without its allocations).
func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// complete reports whether dst, a decoded envelope (behind one or more
// pointers), has success true and every required field of data non-zero.
func complete(dst any) bool {
	v := reflect.ValueOf(dst)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	sh := shadowOf(v.Type())
	if s := v.Field(sh.successIndex); s.Kind() != reflect.Bool || !s.Bool() {
		return false
	}
	data := v.Field(sh.dataIndex)
	for _, i := range sh.requiredIndex {
		if data.Field(i).IsZero() {
			return false
		}
	}
	return true
}

// redirectError reports a 3xx answer; the redirect itself was not followed
// (New's CheckRedirect).
func (c *Client) redirectError(op string, resp *http.Response) error {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	e := &RedirectError{Operation: op, StatusCode: resp.StatusCode}
	loc, err := resp.Location()
	if err != nil {
		e.Location = truncate(oneLine(c.redact(resp.Header.Get("Location"))), snippetLen)
		e.CrossOrigin = true // unparsable: assume the worst
		return e
	}
	e.Location = truncate(oneLine(c.redact(loc.String())), snippetLen)
	e.CrossOrigin = !tokens.SameOrigin(c.base, loc)
	return e
}

// checkEnvelope checks body against dst's envelope without decoding it for
// real: success must be true and data an object holding every required
// field of dst's data type. It returns why not ("" when all is well) and
// the JSON error behind it, if any.
func checkEnvelope(body []byte, dst any) (reason string, err error) {
	env := reflect.TypeOf(dst).Elem()
	for env.Kind() == reflect.Pointer {
		env = env.Elem() // dst may be a **T, which json fills with a new T
	}
	sh := shadowOf(env)
	v := reflect.New(sh.typ)
	if err := json.Unmarshal(body, v.Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return "decode: " + err.Error(), err
		}
		return "body is not JSON: " + err.Error(), err
	}
	v = v.Elem()
	success, _ := v.Field(0).Interface().(*bool)
	switch {
	case success == nil:
		return `no "success" field`, nil
	case !*success:
		if msg := v.Field(1).String(); msg != "" {
			return fmt.Sprintf("success is false: %q", truncate(oneLine(msg), snippetLen)), nil
		}
		return "success is false", nil
	}
	data := v.Field(2)
	if data.IsNil() {
		return fmt.Sprintf("no %q", sh.dataName), nil
	}
	var missing []string
	for i, name := range sh.required {
		if !data.Elem().Field(i).Bool() {
			missing = append(missing, fmt.Sprintf("%q", name))
		}
	}
	if missing != nil {
		return fmt.Sprintf("%s has no %s", sh.dataName, strings.Join(missing, ", ")), nil
	}
	return "", nil
}

// present records whether a JSON field was there and not null.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = string(b) != "null"
	return nil
}

// shadow is a struct type that reads what checkEnvelope needs of an
// envelope: {Success *bool; Error string; Data *struct{F0 present; …}},
// one present per required field of the data type.
type shadow struct {
	typ      reflect.Type
	dataName string
	required []string

	// Where they are in the envelope type itself, for complete.
	successIndex, dataIndex int
	requiredIndex           []int
}

var shadows sync.Map // reflect.Type → *shadow

// shadowOf builds env's shadow once. env is a generated envelope: a struct
// with a "success" and a "data" field. A required field of data is one
// oapi-codegen made a value rather than a pointer: that is how it renders
// the spec's required list (optional and nullable fields are pointers), so
// the list has one home, openapi.yaml.
func shadowOf(env reflect.Type) *shadow {
	if s, ok := shadows.Load(env); ok {
		return s.(*shadow)
	}
	s := &shadow{dataName: "data", successIndex: -1}
	var dataType reflect.Type
	for i := range env.NumField() {
		switch f := env.Field(i); jsonName(f) {
		case "data":
			dataType, s.dataIndex = f.Type, i
		case "success":
			s.successIndex = i
		}
	}
	if dataType == nil || dataType.Kind() != reflect.Struct || s.successIndex < 0 {
		panic(fmt.Sprintf("milligold: %v is not an envelope with a data object", env))
	}
	var fields []reflect.StructField
	for i := range dataType.NumField() {
		f := dataType.Field(i)
		name := jsonName(f)
		if name == "" || f.Type.Kind() == reflect.Pointer {
			continue
		}
		s.required = append(s.required, name)
		s.requiredIndex = append(s.requiredIndex, i)
		fields = append(fields, reflect.StructField{
			Name: fmt.Sprintf("F%d", len(fields)),
			Type: reflect.TypeFor[present](),
			Tag:  reflect.StructTag(fmt.Sprintf(`json:%q`, name)),
		})
	}
	s.typ = reflect.StructOf([]reflect.StructField{
		{Name: "Success", Type: reflect.TypeFor[*bool](), Tag: `json:"success"`},
		{Name: "Error", Type: reflect.TypeFor[string](), Tag: `json:"error"`},
		{Name: "Data", Type: reflect.PointerTo(reflect.StructOf(fields)), Tag: `json:"data"`},
	})
	got, _ := shadows.LoadOrStore(env, s)
	return got.(*shadow)
}

// jsonName is the JSON name of an exported field, "" when it has none.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}
