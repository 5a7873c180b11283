package collector

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-kit/log"
)

// A page of gzipMinSeries series or more goes out gzipped to a scraper that
// accepts it (Prometheus always does), and inflates to exactly the plain
// page; a smaller page, or a scraper that does not accept gzip, gets it
// plain.
func TestServeGzipsLargePages(t *testing.T) {
	get := func(members int, acceptEncoding string) *http.Response {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		serve(rec, req, log.NewNopLogger(), samplesOf(t, members), nil)
		return rec.Result()
	}
	body := func(resp *http.Response) string {
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	large := gzipMinSeries / 5 // 5 series per member
	if n := seriesIn(pageOf(t, large)); n < gzipMinSeries {
		t.Fatalf("the large page has %d series", n)
	}
	plain := get(large, "")
	if plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("gzipped without Accept-Encoding")
	}
	want := body(plain)
	for _, tc := range []struct {
		members int
		accept  string
		gzipped bool
	}{
		{large, "gzip", true},
		{large, "gzip, deflate, br", true},
		{large, "*", true},
		{large, "gzip;q=0", false},
		{large, "identity", false},
		{0, "gzip", false},
		{large/2 - 5, "gzip", false},
	} {
		resp := get(tc.members, tc.accept)
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
			t.Errorf("%d members, Accept-Encoding %q: gzipped %v, want %v", tc.members, tc.accept, got, tc.gzipped)
		}
		if tc.gzipped && resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("gzipped without Vary: Accept-Encoding")
		}
		if tc.members == large {
			if got := body(resp); got != want {
				t.Errorf("Accept-Encoding %q: the page differs from the plain one (%d bytes, want %d)", tc.accept, len(got), len(want))
			}
		}
	}
}
