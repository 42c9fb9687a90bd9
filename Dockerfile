# orb-learn as a container image: `orb-learn serve` on 0.0.0.0:4317 (OTLP/gRPC) and 0.0.0.0:4318
# (OTLP/HTTP, /healthz, /readyz, /metrics), its DuckDB file on the /data volume.
#
#   docker build -t orb-learn .                          # pulls all-MiniLM-L6-v2 when the network
#                                                        # allows; otherwise the offline model
#   docker build --build-arg PULL_MODEL=0 -t orb-learn . # do not try: the offline model
#   docker run -v orb-data:/data -p 127.0.0.1:4317:4317 -p 127.0.0.1:4318:4318 orb-learn
#
# A model of your own (a sentence-transformers ONNX export: model.onnx + tokenizer.json): mount it
# and set ORB_MODEL_DIR, e.g. `-v ./my-model:/model:ro -e ORB_MODEL_DIR=/model`.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency, then the TypeScript compiled to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node must not download CUDA binaries: this image runs on CPUs.
ENV ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
    ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# Dependencies first, for the layer cache. --ignore-scripts because `prepare` would compile before
# the sources are copied; the dependencies' install scripts run in `npm rebuild` below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY proto ./proto
COPY schema ./schema
COPY model-data ./model-data
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
# The dashboard page: bundled into dist/web by the build, served at / (nothing from a CDN).
COPY web ./web
COPY scripts/build-web.mjs ./scripts/build-web.mjs
RUN npm rebuild && npm run build

# ---- production dependencies only ----
FROM build AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: non-root, code read-only, data and models on volumes ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ORB_GRPC=0.0.0.0:4317 \
    ORB_HTTP=0.0.0.0:4318 \
    ORB_DB=/data/learning.duckdb \
    ORB_MODEL_CACHE_DIR=/models \
    ORB_MODEL_DIR=""
# ORB_MODEL_DIR stays empty (an empty setting is ignored) unless a model is mounted: when it is
# set, orb-learn uses that model and nothing else. Otherwise: the pulled model in the cache, else
# the offline model, built into the cache on first start.
WORKDIR /app
RUN mkdir -p /data /models && chown node:node /data /models
# The application belongs to root and is only readable by the `node` user that runs it.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/web ./dist/web
COPY --from=build /app/proto ./proto
COPY --from=build /app/schema ./schema
COPY --from=build /app/model-data ./model-data
COPY --from=build /app/scripts/healthcheck.mjs ./scripts/healthcheck.mjs
USER node
# Pull all-MiniLM-L6-v2 (pinned, SHA-256 checked) into the model cache, unless PULL_MODEL=0. A
# failed pull (no network, a mirror down, a checksum mismatch) only prints a warning: `model pull`
# unpacks into a temporary folder and renames it into place only once the archive checked out, so
# it leaves nothing half-written in /models, and orb-learn then builds and uses the offline model
# on first start. A model mounted at ORB_MODEL_DIR takes precedence over both.
ARG PULL_MODEL=1
RUN if [ "$PULL_MODEL" = "1" ]; then \
      node dist/src/cli/main.js model pull \
      || echo "orb-learn: model pull failed (no network?); the offline model will be used" >&2; \
    fi
VOLUME ["/data", "/models"]
EXPOSE 4317 4318
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs", "/readyz"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
