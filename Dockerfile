# likecast service image: `docker build -t likecast .` (see README, "Container").
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY likecast likecast
COPY features features
COPY models models
COPY training training
COPY serving serving
RUN uv sync --locked --no-dev --no-editable

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 likecast \
    && mkdir /shared && chown likecast:likecast /shared
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    OMP_NUM_THREADS=2 \
    PYTHONUNBUFFERED=1 \
    BENTOML_DO_NOT_TRACK=true \
    LIKECAST_HOME=/home/likecast/.likecast
USER likecast
WORKDIR /home/likecast
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
    CMD curl -fsS http://127.0.0.1:3000/readyz || exit 1
CMD ["likecast", "serve", "--host", "0.0.0.0", "--port", "3000"]
