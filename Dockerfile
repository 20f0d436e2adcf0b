FROM python:3.11-slim

WORKDIR /src
COPY pyproject.toml README.md ./
COPY alertd ./alertd
RUN pip install --no-cache-dir . && rm -rf /src

COPY rules /etc/alertd/rules
WORKDIR /var/lib/alertd
RUN useradd --system --home /var/lib/alertd alertd && chown alertd /var/lib/alertd
USER alertd

ENTRYPOINT ["alertd"]
CMD ["check", "/etc/alertd/rules"]
