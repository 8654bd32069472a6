# A tiersync node. Build: docker build -t tiersync .   Run: see deploy/compose/compose.yaml.
# Multi-stage: the build tools stay in the first stage; the image holds the virtualenv only.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/tiersync
COPY pyproject.toml README.md ./
COPY node node
COPY federation federation
COPY schemas schemas
COPY migrations migrations
RUN /opt/tiersync/bin/pip install --no-cache-dir --no-compile . \
    && /opt/tiersync/bin/python -m compileall -q /opt/tiersync/lib

FROM python:3.11-slim
# A dedicated user without a shell; the data directory is its only writable place.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tiersync --create-home \
        --shell /usr/sbin/nologin tiersync
COPY --from=build /opt/tiersync /opt/tiersync
ENV PATH=/opt/tiersync/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TIERSYNC_DATA_DIR=/var/lib/tiersync \
    TIERSYNC_HOST=0.0.0.0 \
    TIERSYNC_PORT=8000
USER tiersync
WORKDIR /var/lib/tiersync
VOLUME ["/var/lib/tiersync"]
EXPOSE 8000
# /healthz answers 200 once the node serves and its database answers (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# SIGTERM: in-flight requests get a few seconds (node.cli.serve.SHUTDOWN_GRACE_S), then exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tiersync"]
CMD ["serve"]
