package milligold

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The fake API's credentials and its one token, JWT-shaped so the leak
// checks recognise it wherever it turns up.
const (
	fakePartnerID = "partner-1"
	fakeToken     = "eyJhbGciOiJIUzI1NiJ9.eyJwYXJ0bmVySWQiOiJwYXJ0bmVyLTEifQ.ZmFrZS1zaWduYXR1cmU"
)

// The document's example answers.
const (
	docRate     = `{"success":true,"data":{"rate":1111,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}}`
	docUser     = `{"success":true,"data":{"id":"cljwvd2x20001mm0gg0a9z5px","name":"Test User","email":"test@example.com","countryCode":"91","mobileNumber":"1234567890","gender":"MALE","birthday":null,"upiId":"milligold.911234567890@icici","address":null,"pincode":null,"goldBalance":0}}`
	docNotFound = `{"success":false,"error":"The requested resource was not found","errorCode":"3d1c75d0-37ee-4530-b281-4ab9c597f2bb"}`
)

// fakeAPI is a small stand-in for the API, mounted under /partner so a lost
// base path fails loudly. Token requests check the form; other operations
// check the bearer token and then answer with what the test set.
type fakeAPI struct {
	mu       sync.Mutex
	answers  map[string][]answer // by path after /partner; consumed in order, the last one sticks
	requests []*http.Request
	tokens   int
}

type answer struct {
	status int
	header map[string]string
	body   string
}

// passThrough (status 0), planned for the token endpoint, lets the fake
// answer as usual.
var passThrough = answer{}

func json200(body string) answer { return answer{status: 200, body: body} }

// tooMany is a 429 as openapi.yaml documents it: the three rate-limit
// headers and an error body.
func tooMany(limit int, reset int64) answer {
	return answer{429, map[string]string{
		"X-Rate-Limit-Limit": strconv.Itoa(limit), "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": strconv.FormatInt(reset, 10),
	}, `{"success":false,"error":"Too many requests","errorCode":"r"}`}
}

func newFakeAPI(t testing.TB) (*fakeAPI, string) {
	f := &fakeAPI{answers: map[string][]answer{
		"/gold/rate":            {json200(docRate)},
		"/user/info/1234567890": {json200(docUser)},
	}}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	return f, ts.URL + "/partner"
}

func (f *fakeAPI) set(path string, a ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[path] = a
}

func (f *fakeAPI) tokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens
}

func (f *fakeAPI) seen() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	path, ok := strings.CutPrefix(r.URL.Path, "/partner")
	if !ok {
		writeAnswer(w, answer{404, nil, `{"success":false,"error":"no such path","errorCode":"base-path"}`})
		return
	}
	if path == "/auth/token" {
		f.mu.Lock()
		f.tokens++
		a, planned := f.next(path)
		f.mu.Unlock()
		switch {
		case planned && a.status != 0:
			writeAnswer(w, a)
		case r.Method != http.MethodPost || r.FormValue("partnerId") != fakePartnerID || r.FormValue("partnerSecret") != testSecret:
			writeAnswer(w, answer{401, nil, `{"success":false,"error":"Invalid credentials","errorCode":"cred"}`})
		default:
			b, _ := json.Marshal(map[string]any{"success": true, "data": map[string]any{"accessToken": fakeToken, "expiresIn": 3600, "createdAt": 1688994271}})
			writeAnswer(w, answer{200, nil, string(b)})
		}
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		writeAnswer(w, answer{401, nil, `{"success":false,"error":"Unauthorized","errorCode":"auth"}`})
		return
	}
	f.mu.Lock()
	a, planned := f.next(path)
	f.mu.Unlock()
	if !planned {
		a = answer{404, nil, docNotFound}
	}
	writeAnswer(w, a)
}

// next pops the next planned answer for path; the last one stays. f.mu held.
func (f *fakeAPI) next(path string) (answer, bool) {
	as := f.answers[path]
	if len(as) == 0 {
		return answer{}, false
	}
	if len(as) > 1 {
		f.answers[path] = as[1:]
	}
	return as[0], true
}

func writeAnswer(w http.ResponseWriter, a answer) {
	if _, ok := a.header["Content-Type"]; !ok {
		w.Header().Set("Content-Type", "application/json")
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}
