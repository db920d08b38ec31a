# The controller's image, for those who build with Docker. `make image`
# builds the same image without Docker (hack/release); both put the same
# files in the same places: the rootfs comes from the same code.
#
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(cat VERSION) -t ramp .
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH VERSION=devel
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/rampcd/ramp/internal/cli.Version=${VERSION}" -o /out/ramp ./cmd/ramp \
 && go run ./hack/release rootfs --binary /out/ramp --out /rootfs

FROM scratch
ARG VERSION=devel
COPY --from=build /rootfs/ /
COPY --from=build --chown=65532:65532 /rootfs/home/nonroot /home/nonroot
USER 65532:65532
WORKDIR /home/nonroot
ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EXPOSE 8080 8081 9443
LABEL org.opencontainers.image.title=ramp \
      org.opencontainers.image.source=https://github.com/rampcd/ramp \
      org.opencontainers.image.version=${VERSION}
ENTRYPOINT ["/usr/local/bin/ramp", "controller"]
