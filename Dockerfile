FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY events events
COPY graph graph
COPY cache cache
COPY schema schema
COPY resolvers resolvers
COPY walks walks
COPY media media
COPY notifications notifications
COPY accounts accounts
COPY visual visual
COPY migrations migrations
COPY server server
COPY web web
RUN pip install --no-cache-dir . && useradd --system --home /app pingraph \
    && mkdir -p /app/data && chown pingraph /app/data
# Each container's own data directory: walk snapshots (pulled from MinIO), the image model,
# and numba's compiled kernels (site-packages is not writable by the app's user).
ENV PINGRAPH_DATA_DIR=/app/data NUMBA_CACHE_DIR=/app/data/numba PINGRAPH_WEB_DIR=/app/web
USER pingraph
EXPOSE 8000
CMD ["pingraph", "serve"]
