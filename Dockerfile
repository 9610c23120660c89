# Letterpress, built for production: the TypeScript is compiled once here (npm run build) and the image runs the
# compiled dist/ with production dependencies only; no sources, no tsx at run time.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY workers ./workers
COPY emails ./emails
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# `letterpress worker` bounds its own heap (its queues run in a thread with V8 limits): no NODE_OPTIONS needed.
# Container healthchecks: `node bin/letterpress.js health --worker` for a worker (see docker-compose.yml).
CMD ["node", "bin/letterpress.js", "serve"]
