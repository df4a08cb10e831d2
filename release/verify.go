package main

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// verify checks a release directory with the library that wrote it: every
// file of SHA256SUMS matches, every binary is a static stripped ELF for its
// machine, the OCI layout holds one index with every platform, and each
// platform's image (in the index and in its tarball) is exactly /hcinit with
// the bytes of the released binary, the OCI labels and ENTRYPOINT.
func (r *release) verify() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	sums, err := readSums(filepath.Join(r.dist, sumFile))
	if err != nil {
		return err
	}
	for _, t := range targets {
		r.checkFiles(t, sums, fail)
	}

	images, err := r.indexImages()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, t := range targets {
		r.checkPlatform(images, t, sums[t.binary()], fail)
	}
	if len(images) != len(targets) {
		fail("index: %d manifests, want %d (one per platform)", len(images), len(targets))
	}
	if len(errs) == 0 {
		fmt.Fprintf(os.Stderr, "release verify: %s: %d binaries, %d tarballs and the OCI index (%d platforms) check out\n",
			r.dist, len(targets), len(targets), len(images))
	}
	return errors.Join(errs...)
}

// failFunc records one problem of verify and lets it go on.
type failFunc func(format string, args ...any)

// checkFiles: t's binary and tarball match SHA256SUMS, and the binary is a
// static stripped ELF for t's machine.
func (r *release) checkFiles(t target, sums map[string]string, fail failFunc) {
	for _, f := range []string{t.binary(), t.tarball()} {
		r.checkSum(f, sums, fail)
	}
	if err := checkELF(filepath.Join(r.dist, t.binary()), t); err != nil {
		fail("%s: %v", t.binary(), err)
	}
}

// checkSum: file f of the release is in SHA256SUMS with its sha256.
func (r *release) checkSum(f string, sums map[string]string, fail failFunc) {
	want, ok := sums[f]
	if !ok {
		fail("%s: not in %s", f, sumFile)
		return
	}
	if have, err := fileSum(filepath.Join(r.dist, f)); err != nil {
		fail("%v", err)
	} else if have != want {
		fail("%s: sha256 %s, %s says %s", f, have, sumFile, want)
	}
}

// checkPlatform: the index has an image for t, which checks out, and so does
// t's tarball.
func (r *release) checkPlatform(images map[string]v1.Image, t target, binSum string, fail failFunc) {
	img, ok := images[t.platform()]
	if !ok {
		fail("index: no manifest for %s", t.platform())
		return
	}
	if err := r.checkImage(img, t, binSum); err != nil {
		fail("index, %s: %v", t.platform(), err)
	}
	r.checkTarball(img, t, binSum, fail)
}

// checkTarball: t's tarball holds an image that checks out, is the index's
// image img (same config, same layer) and is tagged image:version.
func (r *release) checkTarball(img v1.Image, t target, binSum string, fail failFunc) {
	tb, err := tarball.ImageFromPath(filepath.Join(r.dist, t.tarball()), nil)
	if err != nil {
		fail("%s: %v", t.tarball(), err)
		return
	}
	if err := r.checkImage(tb, t, binSum); err != nil {
		fail("%s: %v", t.tarball(), err)
	}
	// The tarball is the index's image: same config, same layer.
	a, _ := img.ConfigName()
	b, _ := tb.ConfigName()
	if a != b {
		fail("%s: config %s, the index's %s has %s", t.tarball(), b, t.platform(), a)
	}
	if m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(filepath.Join(r.dist, t.tarball())) }); err != nil {
		fail("%s: %v", t.tarball(), err)
	} else if want := r.image + ":" + r.version; len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{want}) {
		fail("%s: tags %v, want [%s]", t.tarball(), m, want)
	}
}

// indexImages reads the OCI layout: index.json must name exactly one image
// index, tagged with the version, whose manifests are the platforms' images.
func (r *release) indexImages() (map[string]v1.Image, error) {
	idx, err := r.versionIndex()
	if err != nil {
		return nil, err
	}
	// Digests and sizes of every blob against their descriptors.
	if err := validate.Index(idx); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for k, v := range r.labels() {
		if im.Annotations[k] != v {
			return nil, fmt.Errorf("index: annotation %s=%q, want %q", k, im.Annotations[k], v)
		}
	}
	return platformImages(idx, im)
}

// versionIndex is the one image index that oci/index.json names, tagged with
// the version.
func (r *release) versionIndex() (v1.ImageIndex, error) {
	top, err := layout.ImageIndexFromPath(filepath.Join(r.dist, ociDir))
	if err != nil {
		return nil, err
	}
	tm, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex {
		return nil, fmt.Errorf("oci/index.json: want one image index, have %d entries", len(tm.Manifests))
	}
	if ref := tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != r.version {
		return nil, fmt.Errorf("oci/index.json: ref.name %q, want %q", ref, r.version)
	}
	return top.ImageIndex(tm.Manifests[0].Digest)
}

// platformImages are the images of index idx (whose manifest is im) by
// platform ("os/arch[/variant]"): each an OCI image manifest with a platform,
// none twice.
func platformImages(idx v1.ImageIndex, im *v1.IndexManifest) (map[string]v1.Image, error) {
	images := map[string]v1.Image{}
	for _, d := range im.Manifests {
		if d.Platform == nil || d.MediaType != types.OCIManifestSchema1 {
			return nil, fmt.Errorf("index: manifest %s has no platform or is a %s", d.Digest, d.MediaType)
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		if d.Platform.Variant != "" {
			p += "/" + d.Platform.Variant
		}
		if _, dup := images[p]; dup {
			return nil, fmt.Errorf("index: %s twice", p)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		images[p] = img
	}
	return images, nil
}

// checkImage: the platform, ENTRYPOINT and labels of the config, and a single
// layer holding only /hcinit whose sha256 is the binary's.
func (r *release) checkImage(img v1.Image, t target, binSum string) error {
	if err := validate.Image(img); err != nil {
		return err
	}
	if err := r.checkConfig(img, t); err != nil {
		return err
	}
	return r.checkLayer(img, t, binSum)
}

// checkConfig: the image config's platform is t's, its ENTRYPOINT /hcinit and
// its labels the release's.
func (r *release) checkConfig(img v1.Image, t target) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if cf.OS != "linux" || cf.Architecture != t.GOARCH || cf.Variant != t.Variant {
		return fmt.Errorf("config platform %s/%s/%s", cf.OS, cf.Architecture, cf.Variant)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/hcinit"}) {
		return fmt.Errorf("entrypoint %q", cf.Config.Entrypoint)
	}
	for k, v := range r.labels() {
		if cf.Config.Labels[k] != v {
			return fmt.Errorf("label %s=%q, want %q", k, cf.Config.Labels[k], v)
		}
	}
	return nil
}

// checkLayer: the image has a single layer, holding only /hcinit, which
// checks out (checkBinary).
func (r *release) checkLayer(img v1.Image, t target, binSum string) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != 1 {
		return fmt.Errorf("%d layers, want 1 (FROM scratch, /hcinit)", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	files, err := r.layerFiles(tar.NewReader(rc), t, binSum)
	if err != nil {
		return err
	}
	if !slices.Equal(files, []string{"hcinit"}) {
		return fmt.Errorf("layer files %v, want [hcinit]", files)
	}
	return nil
}

// layerFiles reads a layer to its end and returns the names of its entries;
// an "hcinit" entry must check out (checkBinary).
func (r *release) layerFiles(tr *tar.Reader, t target, binSum string) ([]string, error) {
	var files []string
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		files = append(files, hd.Name)
		if hd.Name != "hcinit" {
			continue
		}
		if err := r.checkBinary(hd, tr, t, binSum); err != nil {
			return nil, err
		}
	}
}

// checkBinary: the layer's /hcinit (header hd, bytes from content) is a
// regular file, 0755, owned by 0:0, dated r.created, with the sha256 of t's
// released binary.
func (r *release) checkBinary(hd *tar.Header, content io.Reader, t target, binSum string) error {
	if hd.Typeflag != tar.TypeReg || hd.Mode != 0o755 || hd.Uid != 0 || hd.Gid != 0 || !hd.ModTime.Equal(r.created) {
		return fmt.Errorf("/hcinit: type %c mode %o owner %d:%d mtime %s; want a regular file, 0755, 0:0, %s",
			hd.Typeflag, hd.Mode, hd.Uid, hd.Gid, hd.ModTime.UTC(), r.created)
	}
	h := sha256.New()
	if _, err := io.Copy(h, content); err != nil {
		return err
	}
	if have := hex.EncodeToString(h.Sum(nil)); have != binSum {
		return fmt.Errorf("/hcinit: sha256 %s, %s in %s has %s", have, t.binary(), sumFile, binSum)
	}
	return nil
}

// checkELF: the right machine, statically linked (no interpreter, no dynamic
// section) and stripped (no symbol table).
func checkELF(path string, t target) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	want := map[string]elf.Machine{
		"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM, "386": elf.EM_386,
		"ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV,
	}[t.GOARCH]
	if f.Machine != want {
		return fmt.Errorf("machine %s, want %s", f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return errors.New("dynamically linked")
		}
	}
	if f.Section(".symtab") != nil {
		return errors.New("not stripped (has .symtab)")
	}
	return nil
}

// readSums reads a sha256sum file: "HEX  NAME" per line.
func readSums(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, file, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("%s: malformed line %q", path, sc.Text())
		}
		sums[file] = sum
	}
	return sums, sc.Err()
}
