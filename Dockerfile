# One image for every novarpc service: `docker run novarpc api|scheduler|compute|network|all|demo`.
# Build stage: install everything, compile TypeScript, then keep only production dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm ci runs the prepare script, which builds dist/ (so the sources come first).
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8774
ENTRYPOINT ["node", "dist/cli/bin.js"]
CMD ["--help"]
