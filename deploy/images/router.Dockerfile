# Apollo Router from the binary scripts/install-router.sh built (the pinned
# version), for machines that cannot pull ghcr.io/apollographql/router.
# The build context is a folder holding that binary as `router`:
#   docker build -f deploy/images/router.Dockerfile \
#       --build-arg RUNTIME_BASE=talentgraph/runtime-base:bookworm -t talentgraph/router:v2.17.0 <folder>
# Like the official image, the router is the entrypoint; docker-compose.yml
# gives the arguments, and its health check needs only bash.
ARG RUNTIME_BASE=debian:bookworm-slim
FROM ${RUNTIME_BASE}
COPY router /usr/local/bin/router
USER 10001
ENV APOLLO_TELEMETRY_DISABLED=true
EXPOSE 4000 8088 9090
ENTRYPOINT ["/usr/local/bin/router"]
