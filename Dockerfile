# One image for the API and the workers; docker-compose.yml picks the command.
# The build stage compiles the TypeScript with the dev dependencies (npm run build: dist/ and the
# workflow bundle); the image runs that JavaScript with plain node and the production dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
# The launchers, for `npm run token` (and `npm start`) in a container; they run dist/ (NODE_ENV).
COPY scripts/*.mjs ./scripts/
COPY --from=build /app/dist ./dist
# The dashboard's files, served by the API at /.
COPY --from=build /app/web/dist ./web/dist
# A compiled worker loads this bundle by default; said here for whoever reads the image's environment.
ENV WORKFLOW_BUNDLE=/app/dist/workflows.bundle.js
# Named volumes mounted here inherit this ownership.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
CMD ["node", "--max-semi-space-size=32", "dist/api/main.js"]
