# alertd's container image: `alertd run` listening on 0.0.0.0:9095 inside the container.
#
#   /etc/alertd/alertd.yml   the configuration (the image ships docker/alertd.yml there)
#   /etc/alertd/rules/       rule files, *.rules (the image ships the examples of rules/)
#   /var/lib/alertd/         the SQLite database: a volume, to outlive the container
#
# See docs/operations.md, "Container image". The base is pinned by tag and by digest
# (Python 3.11 on Debian 12): update both together.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY alertd ./alertd
RUN pip install --no-cache-dir . && rm -rf /src

# A fixed numeric user, so that an orchestrator can tell it is not root (runAsNonRoot).
RUN groupadd --system --gid 10001 alertd \
    && useradd --system --uid 10001 --gid alertd --home-dir /var/lib/alertd \
       --no-create-home --shell /usr/sbin/nologin alertd \
    && mkdir -p /var/lib/alertd \
    && chown alertd:alertd /var/lib/alertd
COPY rules /etc/alertd/rules
COPY docker/alertd.yml /etc/alertd/alertd.yml

WORKDIR /var/lib/alertd
# Declared after the chown: a new volume starts with the directory's owner and contents.
VOLUME ["/var/lib/alertd"]
USER 10001:10001
EXPOSE 9095

# The image has no curl: Python asks /-/healthy; any answer but 2xx (or none) fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9095/-/healthy', timeout=4)"]

ENTRYPOINT ["alertd"]
CMD ["run", "--config", "/etc/alertd/alertd.yml"]
