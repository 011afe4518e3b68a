# The API image; the compose worker and beat services run the same image with another command.

# The admin console: bundled from npm packages (cytoscape) at build time, served by the API at /console/.
FROM node:20-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console/build.mjs ./
COPY console/src ./src
RUN node build.mjs

FROM python:3.11-slim

# app/db.py reads cypher/ next to the app package, which the wheel does not carry: PYTHONPATH makes
# every entry point import the packages from this source tree (pip install . still brings the cdp command).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app
WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml .
RUN pip install $(python -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))")

COPY . .
COPY --from=console /console/dist ./console/dist
RUN pip install --no-deps . && useradd --system --no-create-home cdp
USER cdp

EXPOSE 8000
CMD ["uvicorn", "--factory", "app.main:create_app", "--host", "0.0.0.0", "--port", "8000"]
