package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// push uploads the multi-architecture index of the OCI layout, with every
// platform's image, to r.image (a full reference: registry/name:tag), with
// the credentials `docker login` stored. It pushes what `make release` built
// and verify checked: nothing is rebuilt on the way.
func (r *release) push() error {
	ref, err := name.ParseReference(r.image)
	if err != nil {
		return fmt.Errorf("-image %q: %w (want [registry/]name:tag)", r.image, err)
	}
	top, err := layout.ImageIndexFromPath(filepath.Join(r.dist, ociDir))
	if err != nil {
		return err
	}
	tm, err := top.IndexManifest()
	if err != nil {
		return err
	}
	if len(tm.Manifests) != 1 {
		return fmt.Errorf("oci/index.json: want one image index, have %d entries", len(tm.Manifests))
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return err
	}
	d, _ := idx.Digest()
	fmt.Fprintf(os.Stderr, "release push: %s@%s\n", ref, d)
	return nil
}
