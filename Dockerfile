# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with dev dependencies, ship only dist/ and production node_modules.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 (the report database) is a native addon: prebuild-install fetches a binary from
# GitHub when it can, and node-gyp builds it with these when it cannot (only in this stage).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
# Certificates, keys and the internal CA live on the data volume, owned by the unprivileged user.
RUN mkdir -p /var/lib/mta-sts-host /etc/mta-sts-host \
 && cp config/production.yaml /etc/mta-sts-host/config.yaml \
 && chown -R node:node /var/lib/mta-sts-host
USER node
VOLUME ["/var/lib/mta-sts-host"]
# Docker lets unprivileged processes bind low ports inside the container (ip_unprivileged_port_start=0).
EXPOSE 443 80 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MTA_STS_OPS_PORT || 9090) + '/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/main.js"]
CMD ["serve", "--config", "/etc/mta-sts-host/config.yaml", "--workers", "auto"]
