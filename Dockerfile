# One image for the API and the workers; docker-compose.yml picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN node --import tsx worker/bundleWorkflows.ts /app/workflows.bundle.js
ENV WORKFLOW_BUNDLE=/app/workflows.bundle.js
# Named volumes mounted here inherit this ownership.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "--max-semi-space-size=32", "api/main.ts"]
