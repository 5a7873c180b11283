//go:build release

package release

import (
	"debug/buildinfo"
	"debug/elf"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consul-status-exporter/consul_status_exporter/internal/consultest"
)

var platformsFlag = flag.String("platforms", "linux/amd64", "os/arch list, space- or comma-separated, as .promu.yml names them, whose .build/<os>-<arch> binaries to check")

// arch is what a platform of .promu.yml means to Go, ELF and qemu.
type arch struct {
	goarch, goarm string
	machine       elf.Machine
	qemu          string // qemu-<qemu>-static runs it; empty: the host runs it
}

var arches = map[string]arch{
	"amd64":   {"amd64", "", elf.EM_X86_64, ""},
	"386":     {"386", "", elf.EM_386, "i386"},
	"arm64":   {"arm64", "", elf.EM_AARCH64, "aarch64"},
	"armv6":   {"arm", "6", elf.EM_ARM, "arm"},
	"armv7":   {"arm", "7", elf.EM_ARM, "arm"},
	"ppc64le": {"ppc64le", "", elf.EM_PPC64, "ppc64le"},
	"s390x":   {"s390x", "", elf.EM_S390, "s390x"},
	"riscv64": {"riscv64", "", elf.EM_RISCV, "riscv64"},
}

type platform struct {
	os, name string
	arch
	bin string
}

func platforms(t *testing.T) []platform {
	t.Helper()
	var ps []platform
	for _, p := range strings.Fields(strings.ReplaceAll(*platformsFlag, ",", " ")) {
		osName, archName, ok := strings.Cut(p, "/")
		a, known := arches[archName]
		if !ok || !known {
			t.Fatalf("-platforms: cannot check %q", p)
		}
		bin := filepath.Join(consultest.RepoRoot(), ".build", osName+"-"+archName, "consul_status_exporter")
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s: %v (scripts/build.sh %s builds it)", p, err, p)
		}
		ps = append(ps, platform{os: osName, name: archName, arch: a, bin: bin})
	}
	return ps
}

// command runs p's binary: directly on the host's architecture, else under
// Debian's qemu-user-static, by name, since binfmt_misc may not be set up.
func (p platform) command(args ...string) []string {
	if p.qemu == "" {
		return append([]string{p.bin}, args...)
	}
	return append([]string{"qemu-" + p.qemu + "-static", p.bin}, args...)
}

// TestStatic: the image has no libc, and the release tarballs promise a
// binary that runs anywhere of its architecture.
func TestStatic(t *testing.T) {
	for _, p := range platforms(t) {
		t.Run(p.os+"-"+p.name, func(t *testing.T) {
			f, err := elf.Open(p.bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Machine != p.machine {
				t.Errorf("ELF machine %v, want %v", f.Machine, p.machine)
			}
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					t.Error("has a PT_INTERP program header (dynamically linked)")
				}
			}
			if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
				t.Errorf("needs shared libraries %v (%v)", libs, err)
			}
			info, err := buildinfo.ReadFile(p.bin)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"CGO_ENABLED": "0", "GOOS": p.os, "GOARCH": p.goarch, "-trimpath": "true"}
			if p.goarm != "" {
				want["GOARM"] = p.goarm
			}
			got := map[string]string{}
			for _, s := range info.Settings {
				got[s.Key] = s.Value
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("build setting %s=%q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestRunsOnItsArchitecture runs each binary on its own architecture:
// --version, then a /probe of the real-leader scenario, whose exposition
// must be the golden file's, as the amd64 binary's is.
func TestRunsOnItsArchitecture(t *testing.T) {
	root := consultest.RepoRoot()
	version, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "fixtures", "real-leader")
	golden, err := os.ReadFile(filepath.Join(dir, "metrics.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range platforms(t) {
		t.Run(p.os+"-"+p.name, func(t *testing.T) {
			if p.os != "linux" {
				t.Fatalf("only linux binaries run here")
			}
			argv := p.command("--version")
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", argv, err, out)
			}
			want := fmt.Sprintf("consul_status_exporter, version %s ", strings.TrimSpace(string(version)))
			if !strings.HasPrefix(string(out), want) {
				t.Errorf("--version does not start with %q:\n%s", want, out)
			}
			if plat := "platform:         linux/" + p.goarch + "\n"; !strings.Contains(string(out), plat) {
				t.Errorf("--version does not say %q:\n%s", strings.TrimSpace(plat), out)
			}

			fs := consultest.NewFixtureServer(t, dir)
			// real-leader's collectors.txt turns these two on.
			e := consultest.StartExporterCommand(t, p.command(), nil,
				"--consul.server="+fs.URL, "--collector.autopilot", "--collector.members", "--log.level=error")
			u, _ := url.Parse(fs.URL)
			s, err := e.TryPath("/probe?target=" + url.QueryEscape(u.Host))
			if err != nil {
				t.Fatal(err)
			}
			fams, err := consultest.ParseText(s.Body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := consultest.StableText(fams)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(golden) {
				t.Errorf("/probe of real-leader differs from %s:\n--- want\n%s\n--- got\n%s", filepath.Join(dir, "metrics.golden"), golden, got)
			}
		})
	}
}
