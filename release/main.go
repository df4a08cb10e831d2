// Command release builds hcinit's release artifacts and checks them. The
// Makefile runs it (`make release`, `make release-check`, `make publish`), and
// so does the code host's release workflow, through the Makefile only.
//
//	go run . build  -root .. -dist ../dist -version v1.1.0 -revision <hash> -epoch <unix seconds> -image wisdomoss/hcinit
//	go run . verify -dist ../dist -version v1.1.0 -revision <hash> -image wisdomoss/hcinit
//	go run . push   -dist ../dist -image <registry>/<name>:<tag>
//
// build writes into -dist: one static, stripped binary per architecture named
// as tini names its files (hcinit-amd64, hcinit-arm64, hcinit-armhf, …), a
// docker-load-able image tarball per architecture (hcinit-image-amd64.tar, …),
// the multi-architecture image as an OCI image layout (oci/: index.json → an
// image index with one FROM-scratch manifest per platform) and SHA256SUMS over
// the binaries and tarballs. Everything is a function of the commit (and the Go
// toolchain): no clock, no path, no user name gets in, so two builds of one
// commit are byte-identical.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// target is one architecture hcinit is released for.
type target struct {
	Name    string   // file suffix, as tini's: hcinit-NAME
	GOARCH  string   // also the OCI platform architecture and Docker's TARGETARCH
	GOARM   string   // for arm
	Variant string   // OCI platform variant (Docker's TARGETVARIANT)
	Uname   []string // what `uname -m` prints on such a machine
}

// targets are the architectures of a release, in SHA256SUMS order. The
// README's Install table lists the same.
var targets = []target{
	{Name: "amd64", GOARCH: "amd64", Uname: []string{"x86_64"}},
	{Name: "arm64", GOARCH: "arm64", Variant: "v8", Uname: []string{"aarch64", "arm64"}},
	{Name: "armhf", GOARCH: "arm", GOARM: "7", Variant: "v7", Uname: []string{"armv7l", "armv8l"}},
	{Name: "i386", GOARCH: "386", Uname: []string{"i386", "i686"}},
	{Name: "ppc64le", GOARCH: "ppc64le", Uname: []string{"ppc64le"}},
	{Name: "s390x", GOARCH: "s390x", Uname: []string{"s390x"}},
	{Name: "riscv64", GOARCH: "riscv64", Uname: []string{"riscv64"}},
}

func (t target) binary() string  { return "hcinit-" + t.Name }
func (t target) tarball() string { return "hcinit-image-" + t.Name + ".tar" }
func (t target) platform() string {
	p := "linux/" + t.GOARCH
	if t.Variant != "" {
		p += "/" + t.Variant
	}
	return p
}

// What the images say about themselves (OCI annotation keys as labels).
const (
	source  = "https://github.com/wisdom-oss/go-healthcheck"
	licence = "EUPL-1.2"
	ociDir  = "oci"
	sumFile = "SHA256SUMS"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var r release
	fs.StringVar(&r.root, "root", "..", "module root of hcinit")
	fs.StringVar(&r.dist, "dist", "../dist", "output directory")
	fs.StringVar(&r.version, "version", "dev", "version (git describe)")
	fs.StringVar(&r.revision, "revision", "unknown", "commit hash")
	fs.StringVar(&r.image, "image", "wisdomoss/hcinit", "image name; tarballs are tagged IMAGE:VERSION (push: the full reference)")
	epoch := fs.String("epoch", os.Getenv("SOURCE_DATE_EPOCH"), "timestamp of files and images, Unix seconds (the commit time)")
	fs.StringVar(&r.goBin, "go", "go", "the go command")
	fs.Parse(args)
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "release %s: unexpected argument %q\n", cmd, fs.Arg(0))
		os.Exit(2)
	}
	if *epoch == "" {
		*epoch = "0"
	}
	sec, err := strconv.ParseInt(*epoch, 10, 64)
	if err != nil || sec < 0 {
		fmt.Fprintf(os.Stderr, "release: -epoch/SOURCE_DATE_EPOCH: want Unix seconds, have %q\n", *epoch)
		os.Exit(2)
	}
	r.created = time.Unix(sec, 0).UTC()

	switch cmd {
	case "build":
		err = r.build()
	case "verify":
		err = r.verify()
	case "push":
		err = r.push()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "release %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go run . build|verify|push [-root DIR] [-dist DIR] [-version V] [-revision HASH] [-epoch SECONDS] [-image NAME]")
	os.Exit(2)
}

type release struct {
	root, dist, goBin        string
	version, revision, image string
	created                  time.Time
}
