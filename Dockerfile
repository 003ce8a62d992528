# likecast service image: `make image` (see README, "Container"). BASE_IMAGE is any Debian
# bookworm image with Python 3.11 and pip: python:3.11-slim by default, or the one
# .ci/base-image.sh makes from Debian's packages where the public registry is unreachable.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
# The dependencies' layer depends on the lock alone: an edit to README.md (the package's
# readme, needed only to build the project) or the code does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project
COPY README.md README.md
COPY likecast likecast
COPY features features
COPY models models
COPY training training
COPY serving serving
# The packages' own test suites and C headers are never run or compiled in the image.
RUN uv sync --locked --no-dev --no-editable \
    && find /app/.venv/lib -depth -type d -name tests -path '*/site-packages/*' \
        -exec rm -rf {} + \
    && rm -rf /app/.venv/lib/python3.11/site-packages/pyarrow/include

FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && useradd --create-home --uid 10001 likecast \
    && install -d -o likecast -g likecast /shared /home/likecast/.likecast
COPY --from=build /app/.venv /app/.venv
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
