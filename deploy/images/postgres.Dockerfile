# PostgreSQL from Debian's packages (15, bookworm), for machines that cannot
# pull the official image. The base holds the packages (mmdebstrap
# --include=postgresql …); postgres-entrypoint.sh keeps the official
# image's contract that docker-compose.yml relies on: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB and /docker-entrypoint-initdb.d/*.sql on an
# empty data directory.
#   docker build -f deploy/images/postgres.Dockerfile \
#       --build-arg SERVICES_BASE=talentgraph/services-base:bookworm -t talentgraph/postgres:15 deploy/images
ARG SERVICES_BASE=talentgraph/services-base:bookworm
FROM ${SERVICES_BASE}
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
# The package's own cluster (made when it was installed) is not used. A new
# named volume takes the owner of the folder it is mounted on.
RUN rm -rf /etc/postgresql/15/main /var/lib/postgresql/15 \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
    && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data \
    && chmod 755 /usr/local/bin/postgres-entrypoint.sh
USER postgres
# The server's own psql and pg_isready (the health check) first, not
# Debian's wrappers, which look for the package's clusters.
ENV PGDATA=/var/lib/postgresql/data \
    PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
