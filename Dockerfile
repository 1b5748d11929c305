# One image for every Ordo process; docker-compose.yml picks the app with APP.
FROM node:20-bookworm-slim AS build
WORKDIR /ordo
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
COPY migrations migrations
COPY tools tools
COPY dashboard dashboard
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /ordo
ENV NODE_ENV=production
# Node would size its heap by the host's memory and let garbage grow to that; see
# DEFAULT_NODE_OPTIONS in tools/launcher/apps.ts for the measurement.
ENV NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=32"
COPY --from=build /ordo/node_modules node_modules
COPY --from=build /ordo/dist dist
COPY package.json ./
USER node
ENV APP=coordinator
CMD ["sh", "-c", "exec node --enable-source-maps dist/apps/$APP/src/main.js"]
