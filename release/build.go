package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// build writes every artifact of a release into r.dist, replacing what an
// earlier build left there.
func (r *release) build() error {
	start := time.Now()
	if err := r.checkVersion(); err != nil {
		return err
	}
	if err := os.MkdirAll(r.dist, 0o755); err != nil {
		return err
	}
	for _, t := range targets {
		for _, f := range []string{t.binary(), t.tarball()} {
			if err := os.Remove(filepath.Join(r.dist, f)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(r.dist, ociDir)); err != nil {
		return err
	}
	os.Remove(filepath.Join(r.dist, sumFile))

	for _, t := range targets {
		t0 := time.Now()
		if err := r.buildBinary(t); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "release: %s (%s) in %s\n", t.binary(), t.platform(), time.Since(t0).Round(100*time.Millisecond))
	}
	if err := r.writeImages(); err != nil {
		return err
	}
	if err := r.writeSums(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "release: %s %s written to %s in %s\n", r.version, r.revision, r.dist, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// checkVersion rejects what cannot be an image tag or would break -ldflags.
func (r *release) checkVersion() error {
	if r.version == "" || len(r.version) > 128 || strings.HasPrefix(r.version, ".") || strings.HasPrefix(r.version, "-") {
		return fmt.Errorf("version %q: not usable as an image tag", r.version)
	}
	for _, c := range r.version {
		if !tagChar(c) {
			return fmt.Errorf("version %q: not usable as an image tag (%q)", r.version, c)
		}
	}
	for _, c := range r.revision {
		if !hashChar(c) {
			return fmt.Errorf("revision %q: want a commit hash", r.revision)
		}
	}
	return nil
}

// tagChar: c may be in an image tag ([A-Za-z0-9_.-]).
func tagChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// hashChar: c may be in a commit hash as git prints it ([a-z0-9]).
func hashChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// buildEnv is the environment of every release build: the caller's, without
// anything that would change the output (GOFLAGS, an architecture level, cgo),
// and with each architecture's default level spelled out.
func buildEnv(t target) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOOS", "GOARCH", "GOARM", "GOAMD64", "GO386", "GOARM64", "GOPPC64", "GORISCV64",
			"GOMIPS", "GOMIPS64", "GOEXPERIMENT", "CGO_ENABLED", "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.GOARCH, "GOWORK=off", "GOFLAGS=-mod=readonly")
	// The reproducibility check (scripts/release-check.sh) builds hcinit with
	// an empty cache of its own, while this tool comes from the usual one.
	if c := os.Getenv("RELEASE_GOCACHE"); c != "" {
		env = append(env, "GOCACHE="+c)
	}
	switch t.GOARCH {
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm":
		env = append(env, "GOARM="+t.GOARM)
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	case "386":
		env = append(env, "GO386=sse2")
	case "ppc64le":
		env = append(env, "GOPPC64=power8")
	case "riscv64":
		env = append(env, "GORISCV64=rva20u64")
	}
	return env
}

// buildBinary: static (CGO_ENABLED=0), stripped (-s -w), no paths
// (-trimpath), no build ID (-buildid=), no VCS stamp (the commit comes in
// through -ldflags, so a checkout's state cannot change the bytes).
func (r *release) buildBinary(t target) error {
	ldflags := fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.commit=%s", r.version, r.revision)
	cmd := exec.Command(r.goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags,
		"-o", filepath.Join(r.dist, t.binary()), "./cmd/hcinit")
	cmd.Dir = r.root
	cmd.Env = buildEnv(t)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", t.platform(), err)
	}
	return nil
}

// labels are the image's OCI labels (and the index's annotations).
func (r *release) labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "hcinit",
		"org.opencontainers.image.description": "PID-1 supervisor with health checks for unmodified applications",
		"org.opencontainers.image.version":     r.version,
		"org.opencontainers.image.revision":    r.revision,
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.licenses":    licence,
		"org.opencontainers.image.created":     r.created.Format(time.RFC3339),
	}
}

// image is the FROM-scratch image of one architecture: a single layer holding
// /hcinit (root-owned, 0755, dated r.created), ENTRYPOINT ["/hcinit"].
func (r *release) platformImage(t target) (v1.Image, error) {
	bin, err := os.ReadFile(filepath.Join(r.dist, t.binary()))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: "hcinit", Mode: 0o755, Size: int64(len(bin)),
		ModTime: r.created, Format: tar.FormatPAX,
	}); err != nil {
		return nil, err
	}
	tw.Write(bin)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerTar := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: r.created}, CreatedBy: "COPY " + t.binary() + " /hcinit", Comment: "make release"},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", t.GOARCH, t.Variant
	cf.Created = v1.Time{Time: r.created}
	cf.Config.Entrypoint = []string{"/hcinit"}
	cf.Config.Labels = r.labels()
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// writeImages writes the per-architecture tarballs and the OCI layout.
func (r *release) writeImages() error {
	tag, err := name.NewTag(r.image + ":" + r.version)
	if err != nil {
		return fmt.Errorf("image name: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, t := range targets {
		img, err := r.platformImage(t)
		if err != nil {
			return fmt.Errorf("image for %s: %w", t.platform(), err)
		}
		if err := tarball.WriteToFile(filepath.Join(r.dist, t.tarball()), tag, img); err != nil {
			return fmt.Errorf("tarball for %s: %w", t.platform(), err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: t.GOARCH, Variant: t.Variant},
		}})
	}
	idx = mutate.AppendManifests(idx, adds...)
	idx = mutate.Annotations(idx, r.labels()).(v1.ImageIndex)

	p, err := layout.Write(filepath.Join(r.dist, ociDir), empty.Index)
	if err != nil {
		return err
	}
	// index.json names the multi-architecture index by its tag, as
	// `skopeo copy oci:dist/oci:VERSION …` and `crane push` expect.
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": r.version,
	}))
}

// writeSums writes SHA256SUMS over the binaries and tarballs, in the format
// of sha256sum (`sha256sum -c --ignore-missing SHA256SUMS` checks a download).
func (r *release) writeSums() error {
	var b strings.Builder
	for _, t := range targets {
		for _, f := range []string{t.binary(), t.tarball()} {
			sum, err := fileSum(filepath.Join(r.dist, f))
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s  %s\n", sum, f)
		}
	}
	return os.WriteFile(filepath.Join(r.dist, sumFile), []byte(b.String()), 0o644)
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
