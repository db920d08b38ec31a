// Command release builds Ramp's container image and its release artifacts
// with Go alone: no Docker engine, no registry to pull a base image from.
// `make image` and `make release` run it; docs/install.md says what it
// makes and how to check it.
//
//	go run ./hack/release image             # dist/image: the OCI image layout, both platforms
//	go run ./hack/release release           # dist/: CLI archives, SBOMs, image, CRDs, install.yaml, chart, krew manifest, checksums
//	go run ./hack/release rootfs --binary ramp --out rootfs   # the image's files, for the Dockerfile
//	go run ./hack/release push --ref ghcr.io/rampcd/ramp:v0.2.0   # push dist/image to a registry
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "release",
		Short:         "Build Ramp's image and release artifacts without Docker",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var (
		out                          string
		imagePlatforms, cliPlatforms []string
		repo                         string
	)
	root.PersistentFlags().StringVar(&repo, "repository", DefaultRepository, "image repository the artifacts name")

	imageCmd := &cobra.Command{
		Use:   "image",
		Short: "Build the controller's OCI image for each platform into an OCI layout, and print its digest",
		Long: `image cross-compiles cmd/ramp for each platform (static, CGO off), puts it on a
rootfs of CA certificates and a non-root user, and writes one multi-platform
OCI image index into the layout folder --out. The same commit always gives the
same digest: file times are the commit's time and the builds are trimmed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := openProject(cmd.Context(), repo)
			if err != nil {
				return err
			}
			plats, err := parsePlatforms(imagePlatforms, true)
			if err != nil {
				return err
			}
			bins, err := p.buildAll(cmd.Context(), plats, os.TempDir(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer bins.remove()
			digest, err := p.writeImage(bins, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", p.imageRef(digest))
			return nil
		},
	}
	imageCmd.Flags().StringVarP(&out, "out", "o", "dist/image", "OCI layout folder to write (replaced)")
	imageCmd.Flags().StringSliceVar(&imagePlatforms, "platforms", []string{"linux/amd64", "linux/arm64"}, "image platforms")
	root.AddCommand(imageCmd)

	releaseCmd := &cobra.Command{
		Use:   "release",
		Short: "Build every release artifact into --out, with checksums",
		Long: `release writes into --out (emptied first):
  ramp_VERSION_OS_ARCH.tar.gz (.zip on Windows)  the CLI, also kubectl ramp
  *.cdx.json                                     a CycloneDX SBOM per binary
  ramp_VERSION_image.oci.tar                     the controller image, an OCI layout
  crds.yaml                                      the CRDs
  install.yaml                                   config/default, image pinned by digest
  ramp-CHART_VERSION.tgz                         the Helm chart, image pinned by digest
  ramp.krew.yaml                                 the krew plugin manifest
  checksums.txt                                  SHA-256 of all of the above`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := openProject(cmd.Context(), repo)
			if err != nil {
				return err
			}
			plats, err := parsePlatforms(cliPlatforms, false)
			if err != nil {
				return err
			}
			return p.release(cmd.Context(), plats, out, cmd.ErrOrStderr())
		},
	}
	releaseCmd.Flags().StringVarP(&out, "out", "o", "dist", "folder to write the artifacts to (emptied first)")
	releaseCmd.Flags().StringSliceVar(&cliPlatforms, "platforms", defaultReleasePlatforms, "CLI platforms; the linux ones also make the image")
	root.AddCommand(releaseCmd)

	var binary string
	rootfsCmd := &cobra.Command{
		Use:   "rootfs",
		Short: "Write the image's files (certificates, users, the binary) into a folder, for the Dockerfile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(binary)
			if err != nil {
				return err
			}
			return writeRootfs(out, rootfsFiles(data))
		},
	}
	rootfsCmd.Flags().StringVar(&binary, "binary", "", "the linux ramp binary to put in the image")
	rootfsCmd.Flags().StringVarP(&out, "out", "o", "rootfs", "folder to write")
	_ = rootfsCmd.MarkFlagRequired("binary")
	root.AddCommand(rootfsCmd)

	var ref, layoutDir string
	pushCmd := &cobra.Command{
		Use:   "push",
		Short: "Push the image index of an OCI layout to a registry (credentials: the Docker config)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			digest, err := push(cmd.Context(), layoutDir, ref)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s@%s\n", ref, digest)
			return nil
		},
	}
	pushCmd.Flags().StringVar(&ref, "ref", "", "where to push, e.g. ghcr.io/rampcd/ramp:v0.2.0")
	pushCmd.Flags().StringVar(&layoutDir, "layout", "dist/image", "the OCI layout written by image")
	_ = pushCmd.MarkFlagRequired("ref")
	root.AddCommand(pushCmd)
	return root
}
