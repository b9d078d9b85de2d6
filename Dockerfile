# Wren in a container: one static binary (musl) on an empty image, run as a non-root user.
#   docker build -t wren .
#   docker run --rm -p 9092:9092 wren
# Config by WREN_<KEY> variables (Kafka key names, dots as underscores), data in the /data volume.
# scripts/test-dockerfile.sh checks these runtime settings against the binary without docker.

FROM rust:1.95-alpine AS build
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# On Alpine the host target is musl, linked statically. No debug info: the image holds the binary only.
RUN cargo build --locked --release --bin wren \
      --config profile.release.debug=0 --config profile.release.strip=true \
 && mkdir -p /rootfs/data /rootfs/tmp \
 && cp target/release/wren /rootfs/wren \
 && chown 65532:65532 /rootfs/data \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
# Runs with no shell and no libc: fails the build if the binary is not static.
RUN ["/wren", "--version"]
USER 65532:65532
# Inside the container listen on every interface; clients outside reach it via -p 9092:9092, so
# it tells them localhost:9092 (set WREN_ADVERTISED_LISTENERS for another host name).
ENV WREN_LISTENERS=PLAINTEXT://0.0.0.0:9092 \
    WREN_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9092 \
    WREN_LOG_DIRS=/data
EXPOSE 9092
VOLUME ["/data"]
ENTRYPOINT ["/wren"]
