# One image with the six subgraph binaries and the schema registry, built in
# a throwaway stage.
#
#   docker build -t talentgraph/subgraphs .
#   docker run --rm talentgraph/subgraphs talentgraph-core migrate   # one-shot migrations
#   docker run --rm -p 4001:4001 talentgraph/subgraphs talentgraph-core
#
# docker-compose.yml and deploy/k8s run it with the binary as the command.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Manifests first, so dependency builds are cached across source changes.
COPY Cargo.toml Cargo.lock ./
COPY subgraphs subgraphs
COPY migrations migrations
COPY schema-registry schema-registry
COPY devstack devstack
COPY tests tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p talentgraph-core -p talentgraph-auth -p talentgraph-jobseeker \
        -p talentgraph-employer -p talentgraph-payment -p talentgraph-internship \
    && mkdir -p /out \
    && cp target/release/talentgraph-core target/release/talentgraph-auth \
          target/release/talentgraph-jobseeker target/release/talentgraph-employer \
          target/release/talentgraph-payment target/release/talentgraph-internship /out/ \
    && cargo build --release --locked -p schema-registry --bin schema-registry \
    && cp target/release/schema-registry /out/

FROM debian:bookworm-slim AS runtime
# curl serves the container health checks (GET /ready).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home talentgraph
COPY --from=build /out/ /usr/local/bin/
USER 10001
ENV TALENTGRAPH_ENV=production \
    LOG_FORMAT=json
EXPOSE 4001 4002 4003 4004 4005 4006 4100
CMD ["talentgraph-core"]
