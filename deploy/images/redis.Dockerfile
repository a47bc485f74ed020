# Redis from Debian's package (redis-server 7.0, bookworm), for machines
# that cannot pull the official image. Like the official image run with a
# command, docker-compose.yml gives the whole command line
# (`redis-server --save "" …`); redis-cli (the health check) comes with the
# package.
#   docker build -f deploy/images/redis.Dockerfile \
#       --build-arg SERVICES_BASE=talentgraph/services-base:bookworm -t talentgraph/redis:7 deploy/images
ARG SERVICES_BASE=talentgraph/services-base:bookworm
FROM ${SERVICES_BASE}
RUN mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
