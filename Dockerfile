# logwatch-redis agent image: non-root, runs with a read-only root filesystem.
#   docker build -t logwatch-redis .
#   docker run --read-only --tmpfs /tmp -v logwatch-state:/var/lib/logwatch-redis \
#     -v /srv/app/logs:/var/log/app:ro -e SLACK_WEBHOOK_URL=... logwatch-redis
# The only writable path it needs is its state volume (/var/lib/logwatch-redis).
# config/docker-compose.yml and config/kubernetes/daemonset.yaml run it beside an app.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY logwatch ./logwatch
COPY config ./config
RUN python -m venv /opt/logwatch-redis && /opt/logwatch-redis/bin/pip install . \
 && /opt/logwatch-redis/bin/python -m compileall -q /opt/logwatch-redis

FROM python:3.11-slim
# journalctl, to read a journal mounted from the host (watch --journal --journal-directory).
RUN apt-get update && apt-get install -y --no-install-recommends systemd \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin logwatch-redis \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/logwatch-redis
COPY --from=build /opt/logwatch-redis /opt/logwatch-redis
COPY config/logwatch.toml /etc/logwatch-redis/logwatch.toml
# No .pyc written at run time (the root filesystem is read-only; they were compiled above).
ENV PATH=/opt/logwatch-redis/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_STATE_HOME=/var/lib
VOLUME ["/var/lib/logwatch-redis"]
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s CMD ["logwatch", "status", "--state", "/var/lib/logwatch-redis/state.db"]
ENTRYPOINT ["logwatch", "--config", "/etc/logwatch-redis/logwatch.toml", "watch", "--state", "/var/lib/logwatch-redis/state.db"]
CMD ["/var/log/app"]
