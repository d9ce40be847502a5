# syntax=docker/dockerfile:1
# crd-state-metrics image: build with dev dependencies, run with production ones only.
#   docker build -t crd-state-metrics:dev .
#   docker run --rm crd-state-metrics:dev serve --help

FROM node:22-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-alpine AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; --ignore-scripts skips `prepare` (a TypeScript build).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY metricsconfigurations ./metricsconfigurations
COPY examples ./examples
COPY deploy/crds ./deploy/crds
# 65532: the conventional "nonroot" user; the Deployment runs with the same id.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
