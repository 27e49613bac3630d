# assessment-hub: a multi-stage image. Build: docker build -t assessment-hub .  (docs/deployment.md)
#
# Stage 1 builds the wheel from this checkout; stage 2 installs only that wheel (and its dependencies)
# into a virtualenv, runs as an unprivileged user, keeps the SQLite database and attachments in /data,
# and reports healthy while GET /ready answers 200 (database reachable, migrations current, a delivery
# worker's heartbeat fresh).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m build --wheel --outdir /dist .

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/hub/bin:$PATH \
    ASSESSMENT_HUB_DATABASE_URL=sqlite:////data/assessment-hub.db \
    ASSESSMENT_HUB_ATTACHMENTS_DIR=/data/attachments \
    ASSESSMENT_HUB_LOG_FORMAT=json
COPY --from=build /dist/*.whl /tmp/wheels/
RUN python -m venv /opt/hub \
    && /opt/hub/bin/pip install --no-cache-dir /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid hub --home-dir /data --shell /usr/sbin/nologin hub \
    && mkdir -p /data \
    && chown hub:hub /data
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["assessment-hub"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
