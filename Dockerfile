# hazard-gateway: one image for every role (edge, simulate, ingest, push, web, demo, ...).
FROM python:3.11.10-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 NUMBA_CACHE_DIR=/var/cache/numba
WORKDIR /opt/hazard-gateway
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY edge_core ./edge_core
COPY device_profiles ./device_profiles
# A fixed uid: the compose `init` service hands the secret files to it (deploy/init/).
# The state folders exist in the image so that compose's named volumes start owned by it.
RUN pip install . && useradd --system --uid 10001 --home /var/lib/hazard-gateway hazard \
    && mkdir -p /var/lib/hazard-gateway/edge /var/lib/hazard-gateway/ingest \
       /var/lib/hazard-gateway/push /var/lib/hazard-gateway/web /var/cache/numba \
    && chown -R hazard /var/lib/hazard-gateway /var/cache/numba
USER hazard
# Compile the numba kernels into the image's cache so containers start at once.
RUN python -c "import edge_core; edge_core.warm_up()"
ENTRYPOINT ["hazard-gateway"]
CMD ["demo"]
