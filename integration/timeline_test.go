//go:build integration

package integration

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The game day's raw timelines are kept gzipped under docs/gameday/; what
// writeTimeline writes reads back, event for event, through gzip. The
// committed ones are gzip too.
func TestTimelineIsGzippedJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl.gz")
	want := []event{
		{T: time.Unix(1, 0).UTC(), Kind: "fault", Fault: "leader down"},
		{T: time.Unix(2, 0).UTC(), Kind: "series", Labels: map[string]string{"server": "s1"}, Value: 3},
	}
	if err := writeTimeline(path, want); err != nil {
		t.Fatal(err)
	}
	got := readTimeline(t, path)
	if len(got) != len(want) || got[0].Fault != want[0].Fault || got[1].Labels["server"] != "s1" || got[1].Value != 3 {
		t.Errorf("read back %+v, wrote %+v", got, want)
	}
	// Every file below docs/gameday, in folders too (a re-run's timelines
	// are kept in one of their own).
	n := 0
	err := filepath.WalkDir(filepath.Join("..", "docs", "gameday"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		if filepath.Ext(p) != ".gz" || len(readTimeline(t, p)) == 0 {
			t.Errorf("%s: not a gzipped timeline", p)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("no timelines under docs/gameday (%v)", err)
	}
}

func readTimeline(t *testing.T, path string) []event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []event
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}
