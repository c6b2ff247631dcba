# shoprelay: the service image. Self-hosting: see README, "Self-hosting with
# Docker Compose". Build: docker build -t shoprelay .
# An exact Python release on an exact Debian, so rebuilds use the same base.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Dependencies first, from the lock file (exact versions, checked against
# their hashes), so builds repeat and this layer is cached until it changes.
# Regenerate it after changing dependencies in pyproject.toml:
#   pip-compile --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
#     --no-emit-find-links --output-file requirements.lock pyproject.toml
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
# Then the project itself, without resolving anything again.
COPY pyproject.toml README.md ./
COPY proxy ./proxy
COPY providers ./providers
COPY keys ./keys
RUN pip install --no-deps . \
    && pip check \
    && rm -rf /src \
    && useradd --create-home --home-dir /home/shoprelay --uid 10001 --shell /usr/sbin/nologin shoprelay

# The data directory: an embedded SQLite database and its key file, when no
# SHOPRELAY_DATABASE_URL is given, live here (mount a volume on it to keep
# them: docker run -v shoprelay-data:/data ...). Owner-only, like the CLI's.
RUN install -d -m 0700 -o shoprelay -g shoprelay /data
ENV SHOPRELAY_DATA_DIR=/data

# Never root at run time.
USER shoprelay
WORKDIR /home/shoprelay

# Listen on every interface of the container; publish the port with compose.
ENV SHOPRELAY_HOST=0.0.0.0 \
    SHOPRELAY_PORT=8080 \
    SHOPRELAY_LOG_FORMAT=json
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SHOPRELAY_PORT', '8080') + '/health', timeout=2)"]

CMD ["shoprelay", "serve"]
