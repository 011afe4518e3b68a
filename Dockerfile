# The API image; the compose worker and beat services run the same image with another command.
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
RUN pip install --no-deps . && useradd --system --no-create-home cdp
USER cdp

EXPOSE 8000
CMD ["uvicorn", "--factory", "app.main:create_app", "--host", "0.0.0.0", "--port", "8000"]
