package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkStreamEncode is a journal stream's encoding of what it sends
// most under load: 256 gold-rate entries, recorded from requests served
// over loopback by net/http (as `milligold sandbox` serves them), encoded
// in a row by one stream's encoder. ns/op is per entry.
func BenchmarkStreamEncode(b *testing.B) {
	cfg := Default()
	cfg.RateLimit.Requests, cfg.RateLimit.WindowSeconds = 1<<20, 1
	s, err := NewWithControl(cfg, ControlOptions{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	form := url.Values{"partnerId": {DefaultPartnerID}, "partnerSecret": {DefaultPartnerSecret}}.Encode()
	res, err := http.Post(srv.URL+BasePath+"/auth/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		b.Fatal(err)
	}
	var tok struct{ Data struct{ AccessToken string } }
	json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	const n = 256
	for range n {
		req, _ := http.NewRequest("GET", srv.URL+BasePath+"/gold/rate", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Data.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("gold rate: %v %v", err, res)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	entries, _ := s.ctl.journal.list(filter{})
	entries = entries[len(entries)-n:]
	b.ReportAllocs()
	var buf []byte
	var enc entryEncoder
	for b.Loop() {
		for _, e := range entries {
			buf = e.appendJSON(buf[:0], false, &enc)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
	b.ReportMetric(float64(len(buf)), "bytes/entry")
}
