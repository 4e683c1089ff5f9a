package leak

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

const (
	secret = "s3cr3t-leak-fixture"
	token  = "eyJhbGciOiJIUzI1NiJ9.eyJwYXJ0bmVySWQiOiJwMSJ9.c2lnbmF0dXJl"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"clean", "partner p1 got 401 (errorCode 3d1c)", 0},
		{"secret", "form partnerSecret=" + secret, 1},
		{"any JWT", "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", 1},
		{"secret and JWT", secret + " " + token, 2},
		{"empty secret is ignored", "anything", 0},
	}
	for _, tt := range tests {
		if got := Find(tt.text, secret, ""); len(got) != tt.want {
			t.Errorf("%s: Find(%q) = %v; want %d findings", tt.name, Mask(tt.text, secret), got, tt.want)
		}
	}
}

func TestMaskHidesValues(t *testing.T) {
	got := Mask("a "+secret+" b "+token, secret)
	if want := "a [SECRET] b [JWT]"; got != want {
		t.Errorf("Mask = %q; want %q", got, want)
	}
}

func TestFormatsUsesEveryVerb(t *testing.T) {
	type creds struct{ ID, Secret string }
	got := Formats(creds{"p1", secret})
	if strings.Count(got, secret) != 5 {
		t.Errorf("Formats shows the field %d times; want 5 (one per verb)", strings.Count(got, secret))
	}
}

func TestLogKeepsEveryRecord(t *testing.T) {
	l := NewLog()
	log := l.Logger().With("partner", "p1").WithGroup("req")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { log.Debug("sent", "n", i) })
	}
	wg.Wait()
	log.Error("failed", "err", fmt.Errorf("wrap: %w", errors.New("token "+token)))
	out := l.String()
	if n := strings.Count(out, "msg=sent"); n != 8 {
		t.Errorf("text records of debug level = %d; want 8", n)
	}
	if n := strings.Count(out, `"msg":"sent"`); n != 8 {
		t.Errorf("JSON records = %d; want 8", n)
	}
	if !strings.Contains(out, "partner=p1") || !strings.Contains(out, "req.n=") {
		t.Errorf("attrs and groups lost:\n%s", out)
	}
	if found := Find(out); len(found) != 1 {
		t.Errorf("Find(log) = %v; want the logged JWT found", found)
	}
}
