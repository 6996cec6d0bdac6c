# hazard-gateway: one image for every role (edge, simulate, demo, ...).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 NUMBA_CACHE_DIR=/var/cache/numba
WORKDIR /opt/hazard-gateway
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY edge_core ./edge_core
COPY device_profiles ./device_profiles
RUN pip install . && useradd --system --home /var/lib/hazard-gateway hazard \
    && mkdir -p /var/lib/hazard-gateway /var/cache/numba \
    && chown hazard /var/lib/hazard-gateway /var/cache/numba
USER hazard
# Compile the numba kernels into the image's cache so containers start at once.
RUN python -c "import edge_core; edge_core.warm_up()"
ENTRYPOINT ["hazard-gateway"]
CMD ["demo"]
