# One image with the six subgraph binaries and the schema registry.
#
# With a registry (the Rust image and Debian's slim image are pulled):
#   docker build -t talentgraph/subgraphs .
#
# Without one (only package registries reachable, as in CI): build the
# binaries on the host and give a Debian base made with mmdebstrap, which
# scripts/compose-smoke.sh does:
#   cargo build --release -p talentgraph-core … -p schema-registry
#   docker build --build-arg BINARIES=prebuilt \
#       --build-arg RUNTIME_BASE=talentgraph/runtime-base:bookworm -t talentgraph/subgraphs .
#
# Both paths end in the same `runtime` stage: the binaries in
# /usr/local/bin, ca-certificates and curl (the health checks), user 10001.
#
#   docker run --rm talentgraph/subgraphs talentgraph-core migrate   # one-shot migrations
#   docker run --rm -p 4001:4001 talentgraph/subgraphs talentgraph-core
#
# docker-compose.yml and deploy/k8s run it with the binary as the command.

# `built-here` compiles in the image; `prebuilt` copies the host's build.
ARG BINARIES=built-here
ARG RUNTIME_BASE=debian:bookworm-slim

FROM rust:1.95-bookworm AS built-here
WORKDIR /src
# The whole workspace (cargo resolves every member); .dockerignore keeps
# target/ out. The cache mounts keep crates and build output across builds.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p talentgraph-core -p talentgraph-auth -p talentgraph-jobseeker \
        -p talentgraph-employer -p talentgraph-payment -p talentgraph-internship \
        -p schema-registry --bin talentgraph-core --bin talentgraph-auth \
        --bin talentgraph-jobseeker --bin talentgraph-employer \
        --bin talentgraph-payment --bin talentgraph-internship --bin schema-registry \
    && mkdir -p /out \
    && cd target/release \
    && cp talentgraph-core talentgraph-auth talentgraph-jobseeker talentgraph-employer \
          talentgraph-payment talentgraph-internship schema-registry /out/

# The host's `cargo build --release` output (.dockerignore lets only these
# seven files of target/ into the build context).
FROM scratch AS prebuilt
COPY target/release/talentgraph-core target/release/talentgraph-auth \
     target/release/talentgraph-jobseeker target/release/talentgraph-employer \
     target/release/talentgraph-payment target/release/talentgraph-internship \
     target/release/schema-registry /out/

FROM ${BINARIES} AS binaries

FROM ${RUNTIME_BASE} AS runtime
# curl serves the container health checks (GET /ready). A base made with
# mmdebstrap already has it and the user, and no apt sources to reach.
RUN if ! command -v curl >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends ca-certificates curl \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && (id -u talentgraph >/dev/null 2>&1 \
        || useradd --system --uid 10001 --no-create-home talentgraph)
COPY --from=binaries /out/ /usr/local/bin/
USER 10001
ENV TALENTGRAPH_ENV=production \
    LOG_FORMAT=json
EXPOSE 4001 4002 4003 4004 4005 4006 4100
CMD ["talentgraph-core"]
