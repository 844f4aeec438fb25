// Command image writes the operator image as a docker-archive tarball without Docker, from the
// definition the Dockerfile spells (internal/image.Operator):
//
//	make image-tarball    # bin/neo4j-backup-operator-<version>.tar
//
// then, for example, `crane push bin/neo4j-backup-operator-<version>.tar <registry>/<repo>:<tag>`,
// `docker load -i ...` or `ctr images import ...`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/graphkeeper/neo4j-backup-operator/internal/image"
)

func main() {
	binary := flag.String("binary", "bin/neo4j-backup-operator", "the static operator binary (make build)")
	tag := flag.String("tag", "", "the image's name and tag, e.g. graphkeeper/neo4j-backup-operator:0.4.0")
	out := flag.String("out", "", "the tarball to write")
	flag.Parse()
	if *tag == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "image: -tag and -out are required")
		os.Exit(2)
	}
	img, err := image.Operator(*binary)
	if err == nil {
		err = image.Write(*out, *tag, img)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	digest, _ := img.Digest()
	fmt.Printf("%s: %s (%s)\n", *out, *tag, digest)
}
