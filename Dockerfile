# One image for every Mailroom service; docker-compose.yml picks the command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY apps/api/package.json apps/api/
COPY apps/web/package.json apps/web/
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY packages/ingress/package.json packages/ingress/
COPY packages/pop3/package.json packages/pop3/
COPY packages/runtime/package.json packages/runtime/
COPY packages/supervisor/package.json packages/supervisor/
COPY packages/worker/package.json packages/worker/
RUN npm ci --no-audit --no-fund
COPY . .
# argon2 compiled with AVX2 (any x86-64 server CPU since about 2015): ~1.6× faster logins than the portable binary.
# Build with --build-arg ARGON2_MARCH=native on the host that runs the image, or =off for the portable binary.
ARG ARGON2_MARCH=x86-64-v3
RUN MAILROOM_ARGON2_MARCH=$ARGON2_MARCH node scripts/argon2-native.mjs
RUN npx turbo run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 MAILROOM_HOST=0.0.0.0 MAILROOM_DATA_DIR=/data
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
