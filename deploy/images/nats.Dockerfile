# NATS from Debian's package (nats-server 2.9, bookworm), for machines that
# cannot pull the official image. Like the official image, the server is
# the entrypoint; docker-compose.yml gives the arguments (-js -sd /data -m
# 8222). Its health check uses curl, which the base has.
#   docker build -f deploy/images/nats.Dockerfile \
#       --build-arg SERVICES_BASE=talentgraph/services-base:bookworm -t talentgraph/nats:2.9 deploy/images
ARG SERVICES_BASE=talentgraph/services-base:bookworm
FROM ${SERVICES_BASE}
RUN mkdir -p /data && chown 10002:10002 /data
USER 10002
EXPOSE 4222 8222
ENTRYPOINT ["/usr/sbin/nats-server"]
