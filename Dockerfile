# Production image: gunicorn + Celery share it; docker-compose.yml starts the services.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation \
        poppler-utils curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir uv && uv pip install --system --no-cache -r requirements.lock

COPY . .
RUN useradd --system --uid 1000 collaboratory \
    && DEBUG=true SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
       REDIS_URL=redis://localhost:6379/0 STATIC_ROOT=/app/staticfiles \
       python manage.py collectstatic --noinput \
    && mkdir -p /app/media && chown collaboratory /app/media
USER collaboratory
EXPOSE 8000
CMD ["gunicorn", "collaboratory.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
