# syntax=docker/dockerfile:1
#
# Tunnus image: runs the worker (CMD below); the HR intake API is the same image with the command
# `node --import tsx src/api/main.ts` (docker-compose.yml, service api). The repo runs TypeScript
# through tsx, which is a runtime dependency, so there is no compile step: the image carries src/
# and the production node_modules, nothing else (tests, sandbox, simulators, docs and the sample
# policy stay out; see .dockerignore). The policy, CA certificates, the Graph certificate and the
# API's clients file are mounted at run time (docker-compose.yml).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- deps: production dependencies exactly as locked. @swc/core (the Temporal workflow bundler's
# compiler) and esbuild (tsx) install native binaries, which is why this runs on the same base as
# the runtime stage.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX: WORKER_PROCESS_ENV (src/worker-memory.ts), fewer glibc arenas holding freed memory.
ENV NODE_ENV=production \
    TUNNUS_POLICY_FILE=/etc/tunnus/policy.yaml \
    MALLOC_ARENA_MAX=2
WORKDIR /app
# Code and dependencies stay owned by root: the worker (user "node", uid 1000) can read, not modify.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
USER node
# `node --import tsx` rather than the tsx CLI: one process, so node is PID 1 and receives SIGTERM
# itself; the Temporal worker's own signal handler then drains and shuts down cleanly. The V8 flags
# are WORKER_NODE_FLAGS (src/worker-memory.ts): the main thread's heap sized like the workflow thread's.
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=1024", "--import", "tsx", "src/worker.ts"]
