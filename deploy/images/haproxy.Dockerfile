# HAProxy from Debian's package (2.6, bookworm), for machines that cannot
# pull the official image: the edge in front of the router in
# docker-compose.yml, which gives the whole command line and mounts the
# configuration (deploy/compose/edge.haproxy.cfg).
#   docker build -f deploy/images/haproxy.Dockerfile \
#       --build-arg SERVICES_BASE=talentgraph/services-base:bookworm -t talentgraph/haproxy:2.6 deploy/images
ARG SERVICES_BASE=talentgraph/services-base:bookworm
FROM ${SERVICES_BASE}
USER haproxy
EXPOSE 4000
CMD ["haproxy", "-W", "-db", "-f", "/config/haproxy.cfg"]
