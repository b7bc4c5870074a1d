# syntax=docker/dockerfile:1
# One image for every Omnistock process, compiled to JavaScript in dist/ (npm run build); the command
# picks which (README: "Running on Kubernetes"):
#   node dist/gateway/main.js                      the gateway, with the schema registry (the default)
#   node dist/subgraphs/<name>/main.js             a subgraph: inventory, orders, locations, channels, marketplaces, exceptions
#   node dist/jobs/main.js                         the jobs process
#   node dist/scripts/migrate.js                   migrations (npm run migrate), the Helm chart's hook Job
#   node dist/scripts/cli.js                       the omnistock CLI (npm run omnistock)
# Processes are started with node itself, not npm, so SIGTERM reaches them and they drain.

# Build: every dependency, the registry console's bundle and the compiled processes (npm run build),
# then the dev dependencies dropped.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# Run: the compiled processes, the production dependencies and the console's bundle, owned by
# root and read-only to the unprivileged `node` user (uid 1000) the processes run as.
FROM node:20-slim
# NODE_OPTIONS: the V8 flags npm start gives every service (scripts/system.ts NODE_FLAGS).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--max-semi-space-size=64
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 4000 4001 4002 4003 4004 4005 4006 4010
CMD ["node", "dist/gateway/main.js"]
