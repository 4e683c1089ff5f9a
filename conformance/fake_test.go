package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// fakeAPI is a small stand-in for the API, to test the suite on its own.
type fakeAPI struct {
	mu     sync.Mutex
	now    time.Time
	start  time.Time // of the partner's window
	count  int
	tokens map[string]bool
}

func newFakeAPI(now time.Time) *fakeAPI { return &fakeAPI{now: now, tokens: map[string]bool{}} }

func (f *fakeAPI) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }

func (f *fakeAPI) Sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	return nil
}

var mobileRE = regexp.MustCompile(`^[0-9]{10}$`)

func (f *fakeAPI) fail(w http.ResponseWriter, status int, h http.Header) {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"success":false,"error":%q,"errorCode":"3d1c75d0-37ee-4530-b281-4ab9c597f2bb"}`, http.StatusText(status))
}

func (f *fakeAPI) ok(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data})
}

// allow counts a request of the partner against its window.
func (f *fakeAPI) allow(w http.ResponseWriter) bool {
	if f.start.IsZero() || !f.now.Before(f.start.Add(20*time.Second)) {
		f.start, f.count = f.now, 0
	}
	f.count++
	if f.count <= 10 {
		return true
	}
	f.fail(w, 429, http.Header{"X-Rate-Limit-Limit": {"10"}, "X-Rate-Limit-Remaining": {"0"},
		"X-Rate-Limit-Reset": {fmt.Sprint(f.start.Add(20 * time.Second).Unix())}})
	return false
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get(FaultHeader) == "500" {
		f.fail(w, 500, nil)
		return
	}
	if r.URL.Path == "/auth/token" {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.ParseForm() != nil || mt != "application/x-www-form-urlencoded" || r.PostForm.Get("partnerId") == "" || r.PostForm.Get("partnerSecret") == "" {
			f.fail(w, 400, nil)
			return
		}
		if r.PostForm.Get("partnerId") != "p1" || r.PostForm.Get("partnerSecret") != secret {
			f.fail(w, 401, nil)
			return
		}
		if !f.allow(w) {
			return
		}
		tok := fmt.Sprintf("tok-%d", len(f.tokens))
		f.tokens[tok] = true
		f.ok(w, map[string]any{"accessToken": tok, "expiresIn": 3600, "createdAt": f.now.Unix()})
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !f.tokens[tok] {
		f.fail(w, 401, nil)
		return
	}
	if !f.allow(w) {
		return
	}
	switch number, isUser := strings.CutPrefix(r.URL.Path, "/user/info/"); {
	case r.URL.Path == "/gold/rate":
		f.ok(w, map[string]any{"rate": 1111.5, "cgstRate": 0.015, "sgstRate": 0.015, "updatedAt": "2023-01-05T09:17:03.459Z"})
	case isUser && !mobileRE.MatchString(number):
		f.fail(w, 400, nil)
	case isUser && number == DefaultMobileNumber:
		f.ok(w, map[string]any{"id": "u1", "name": "Test User", "email": "test@example.com", "countryCode": "91",
			"mobileNumber": number, "gender": "MALE", "birthday": nil, "upiId": "milligold.911234567890@icici",
			"address": nil, "pincode": nil, "goldBalance": 0})
	case isUser:
		f.fail(w, 404, nil)
	default:
		f.fail(w, 404, nil)
	}
}
