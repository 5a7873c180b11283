//go:build release

package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

// TestTarballs checks what `promu crossbuild tarballs` and `promu checksum`
// made in .tarballs/ of each platform's binary: promu's name, one folder of
// that name holding the binary as built (and LICENSE and NOTICE, should the
// repository have them), and a correct line in sha256sums.txt.
func TestTarballs(t *testing.T) {
	root := consultest.RepoRoot()
	version, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(root, ".tarballs", "sha256sums.txt"))
	if err != nil {
		t.Fatalf("%v (make tarballs or make release-test writes it)", err)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("sha256sums.txt: bad line %q", line)
		}
		listed[name] = sum
	}
	for _, p := range platforms(t) {
		name := fmt.Sprintf("consul_status_exporter-%s.%s-%s", strings.TrimSpace(string(version)), p.os, p.name)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(root, ".tarballs", name+".tar.gz"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := listed[name+".tar.gz"], fmt.Sprintf("%x", sha256.Sum256(data)); got != want {
				t.Errorf("sha256sums.txt says %q, the file's is %s", got, want)
			}
			want := map[string][]byte{}
			for _, f := range []string{"LICENSE", "NOTICE"} {
				if b, err := os.ReadFile(filepath.Join(root, f)); err == nil {
					want[name+"/"+f] = b
				}
			}
			if want[name+"/consul_status_exporter"], err = os.ReadFile(p.bin); err != nil {
				t.Fatal(err)
			}
			got := readTarGz(t, data)
			var names []string
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if len(got) != len(want) {
				t.Errorf("holds %v, want %d files", names, len(want))
			}
			for n, b := range want {
				if !bytes.Equal(got[n], b) {
					t.Errorf("%s: missing or not as in the tree (holds %v)", n, names)
				}
			}
		})
	}
}

// readTarGz returns the regular files of a .tar.gz by path.
func readTarGz(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}
