# likecast images: `make image` (see README, "Container" and "Deploy"). BASE_IMAGE is any
# Debian bookworm image with Python 3.11 and pip: python:3.11-slim by default, or the one
# .ci/base-image.sh makes from Debian's packages where the public registry is unreachable.
# Targets: `serve` (the default, last) holds what `likecast serve` imports; `full` adds the
# `train` extra (training, the Dask scheduler and workers, the MLflow server); `postgres` is
# Debian's PostgreSQL for the compose deployment (compose.yaml).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock ./

# The package's files, gathered once for both build stages (README.md is its readme, needed
# only to build the project).
FROM scratch AS code
COPY README.md /app/README.md
COPY likecast /app/likecast
COPY features /app/features
COPY models /app/models
COPY training /app/training
COPY serving /app/serving

# Each build stage installs its dependencies from the lock alone, before the code: an edit to
# README.md or the code does not reinstall them. The packages' own test suites and C headers
# are never run or compiled here.
FROM uv AS build-serve
RUN uv sync --locked --no-dev --no-install-project
COPY --from=code /app /app
# The service also goes without Arrow Flight (pyarrow's RPC framework, 31 MB: nothing here
# imports pyarrow.flight, and no other library of pyarrow links it) and pyarrow's C++ tests.
RUN uv sync --locked --no-dev --no-editable \
    && find /app/.venv/lib -depth -type d -name tests -path '*/site-packages/*' \
        -exec rm -rf {} + \
    && cd /app/.venv/lib/python3.11/site-packages/pyarrow \
    && rm -rf include *flight* _pyarrow_cpp_tests*

FROM uv AS build-full
RUN uv sync --locked --no-dev --extra train --no-install-project
COPY --from=code /app /app
RUN uv sync --locked --no-dev --extra train --no-editable \
    && find /app/.venv/lib -depth -type d -name tests -path '*/site-packages/*' \
        -exec rm -rf {} + \
    && rm -rf /app/.venv/lib/python3.11/site-packages/pyarrow/include

FROM ${BASE_IMAGE} AS postgres
# initdb, pg_ctl and postgres from Debian's package; docker/postgres-entrypoint.sh makes the
# cluster, its user and databases on the first start; compose.yaml checks its health.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && install -d -o postgres -g postgres /var/lib/postgresql/data /var/run/postgresql
COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:$PATH
USER postgres
EXPOSE 5432
ENTRYPOINT ["postgres-entrypoint.sh"]

FROM ${BASE_IMAGE} AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && useradd --create-home --uid 10001 likecast \
    && install -d -o likecast -g likecast /shared /artifacts /home/likecast/.likecast
# BENTOML_HOME under /tmp: with a read-only root filesystem only /tmp (a tmpfs) and the
# mounted home are writable (README, "Container").
ENV PATH=/app/.venv/bin:$PATH \
    OMP_NUM_THREADS=2 \
    PYTHONUNBUFFERED=1 \
    BENTOML_DO_NOT_TRACK=true \
    BENTOML_HOME=/tmp/bentoml \
    LIKECAST_HOME=/home/likecast/.likecast
USER likecast
WORKDIR /home/likecast
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
    CMD curl -fsS http://127.0.0.1:3000/readyz || exit 1
CMD ["likecast", "serve", "--host", "0.0.0.0", "--port", "3000"]

FROM runtime AS full
COPY --from=build-full /app/.venv /app/.venv

FROM runtime AS serve
COPY --from=build-serve /app/.venv /app/.venv
