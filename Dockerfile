# hcinit as an image that holds nothing but the static binary, for
#
#   COPY --from=hcinit:dev /hcinit /hcinit
#
# in your own Dockerfile (the way tini-static is consumed). Built offline from the
# binary `make build` writes: `make image` (scripts/image.sh) or, by hand,
#   make build && docker build -t hcinit:dev .
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="hcinit" \
      org.opencontainers.image.description="PID-1 supervisor with health checks for unmodified applications" \
      org.opencontainers.image.version="${VERSION}"
COPY bin/hcinit /hcinit
ENTRYPOINT ["/hcinit"]
