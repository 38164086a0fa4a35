# syntax=docker/dockerfile:1
#
# cxone-scim-sync: the service, the CLI and the CXone SCIM simulator in one image.
#
#   docker build -t cxone-scim-sync .
#   docker run --rm -p 8080:8080 -v cxone-data:/data -e SIMULATOR=embedded cxone-scim-sync   # serve (embedded simulator)
#   (NODE_ENV=production: without CXONE_BASE_URL the service starts only when SIMULATOR=embedded asks for the simulator)
#   docker run --rm cxone-scim-sync reconcile --help                             # any CLI command
#
# Two stages: "build" has the toolchain (python3, make, g++ for better-sqlite3's native
# addon, compiled from source here rather than downloaded prebuilt) and the dev
# dependencies (TypeScript); the runtime stage gets only dist/, the pruned production
# node_modules and package.json, and runs as the unprivileged "node" user (uid 1000).
#
# Checked against hadolint's rules by hand, not by hadolint (Debian bookworm has no
# package; npm's "hadolint" only wraps a binary that could not be fetched): DL3008
# (unpinned apt packages) is the one rule waived, for build-only tools in a stage that is
# thrown away; the base image is pinned by tag.
# Node 24 (LTS): Node 20, the floor of package.json "engines", reached end of life in April 2026.

FROM node:24-bookworm-slim AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency, for the build; better-sqlite3 is compiled against this Node here.
ENV npm_config_build_from_source=true
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Compile (tsc also copies src/simulator/seed.json), then drop the dev dependencies;
# the compiled better-sqlite3 stays.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && test -f dist/simulator/seed.json \
 && node -e "require('better-sqlite3')(':memory:').close()"

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only to the service: only /data is writable.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The store (audit trail, webhook outbox, idempotency keys) lives in the volume.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME ["/data"]
USER node
EXPOSE 8080
# Node's fetch: the slim image has no curl. PORT is read at run time, so an override still works.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 (no npm or shell in between), so SIGTERM from `docker stop` reaches the
# service's own handler: it stops taking requests, lets in-flight syncs finish and exits.
ENTRYPOINT ["node", "--enable-source-maps", "dist/cli.js"]
CMD ["serve"]
