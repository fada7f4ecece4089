# One image for every tsr service (the AWS target runs it on ECS Fargate, one service per stage):
#   TSR_APP=trade TSR_STAGE=core node dist/services/main.js
# The stage comes from the environment, like every other setting (see src/services/runtime/service-config.ts).
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; install scripts follow package.json's allowScripts. The CDKTF packages (~400 MB)
# serve `tsr synth`/`deploy`, never a service, so they stay out of the image.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/cdktf node_modules/@cdktf node_modules/constructs \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/tsr && chown node:node /var/tsr
USER node
# Metrics and health on TSR_METRICS_PORT (bound to 127.0.0.1 locally; the task's own network namespace on ECS).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.TSR_METRICS_PORT||9464)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/services/main.js"]
