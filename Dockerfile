# The inotuzumab CDS Hooks service, served by gunicorn (gunicorn.conf.py). Build: `docker build -t inotuzumab-cds .`
# The image defaults to production mode (https-only FHIR, trusted clients required); docker-compose.yml turns it off
# for the local sandbox. The sandbox/ files are included so `python -m service load-sandbox` and `smoke` work here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (pinned in pyproject.toml), so code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY cds_hooks ./cds_hooks
COPY service ./service
RUN pip install '.[postgres]'

COPY gunicorn.conf.py ./
COPY sandbox ./sandbox

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin cds \
    && mkdir -p /app/instance && chown cds /app/instance
USER 10001

ENV CDS_PRODUCTION=1 \
    GUNICORN_BIND=0.0.0.0:8080 \
    WEB_CONCURRENCY=2
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status == 200 else 1)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"]
