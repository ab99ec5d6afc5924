FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY graph graph
COPY schema schema
COPY resolvers resolvers
COPY walks walks
COPY media media
COPY migrations migrations
COPY server server
RUN pip install --no-cache-dir . && useradd --system --home /app pingraph \
    && mkdir -p /app/data && chown pingraph /app/data
USER pingraph
EXPOSE 8000
CMD ["pingraph", "serve"]
