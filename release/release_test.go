package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// releaseOf is the release in HCINIT_DIST as make release-check describes it
// (HCINIT_VERSION, HCINIT_REVISION, HCINIT_EPOCH), copied to dir when dir != "".
func releaseOf(t *testing.T, dir string) *release {
	t.Helper()
	dist := distDir(t)
	sec, err := strconv.ParseInt(os.Getenv("HCINIT_EPOCH"), 10, 64)
	if err != nil {
		t.Skip("HCINIT_EPOCH is not set: make release-check sets it")
	}
	r := &release{dist: dist, version: os.Getenv("HCINIT_VERSION"), revision: os.Getenv("HCINIT_REVISION"),
		image: os.Getenv("HCINIT_IMAGE"), created: time.Unix(sec, 0).UTC()}
	if dir != "" {
		if err := os.CopyFS(dir, os.DirFS(dist)); err != nil {
			t.Fatal(err)
		}
		r.dist = dir
	}
	return r
}

// verify passes on what make release wrote, and fails on a binary that is
// not the one in the images, even when SHA256SUMS was rewritten to match it.
func TestVerifyCatchesAChangedBinary(t *testing.T) {
	r := releaseOf(t, t.TempDir())
	if err := r.verify(); err != nil {
		t.Fatalf("verify %s: %v", distDir(t), err)
	}
	bin := filepath.Join(r.dist, "hcinit-arm64")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	err = r.verify()
	if err == nil || !strings.Contains(err.Error(), "hcinit-arm64: sha256") {
		t.Errorf("verify after changing hcinit-arm64: %v, want a checksum mismatch", err)
	}

	sum := sha256.Sum256(b)
	sums, err := os.ReadFile(filepath.Join(r.dist, sumFile))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		if strings.HasSuffix(l, "  hcinit-arm64") {
			l = hex.EncodeToString(sum[:]) + "  hcinit-arm64"
		}
		lines = append(lines, l)
	}
	if err := os.WriteFile(filepath.Join(r.dist, sumFile), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = r.verify()
	if err == nil || !strings.Contains(err.Error(), "linux/arm64/v8: /hcinit: sha256") {
		t.Errorf("verify with SHA256SUMS rewritten for the changed binary: %v, want the index's arm64 image to differ", err)
	}
}

// push uploads the index with every platform to a registry (an in-process
// one on loopback), digest for digest.
func TestPush(t *testing.T) {
	r := releaseOf(t, "")
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/hcinit-release-test/hcinit:" + r.version
	r.image = ref
	if err := r.push(); err != nil {
		t.Fatal(err)
	}

	p, err := layout.FromPath(filepath.Join(r.dist, ociDir))
	if err != nil {
		t.Fatal(err)
	}
	top, _ := p.ImageIndex()
	tm, _ := top.IndexManifest()
	want := tm.Manifests[0].Digest
	tag, _ := name.ParseReference(ref)
	got, err := remote.Index(tag)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Errorf("pushed index %s, the layout's is %s", d, want)
	}
	for _, tg := range targets {
		img, err := remote.Image(tag, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: tg.GOARCH, Variant: tg.Variant}))
		if err != nil {
			t.Errorf("%s: %v", tg.platform(), err)
			continue
		}
		if cf, err := img.ConfigFile(); err != nil || cf.Architecture != tg.GOARCH {
			t.Errorf("%s: config %v, %v", tg.platform(), cf, err)
		}
	}
}
