// Package release tests the binaries `make crossbuild` and scripts/build.sh
// put in .build/, each on its own architecture: static, built as
// .promu.yml says, its --version, and a scrape of a recorded scenario that
// must match the golden file. Its tests carry the build tag release and take
// the platforms to check from -platforms (make release-test).
package release
