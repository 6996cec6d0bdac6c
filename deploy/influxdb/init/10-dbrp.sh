#!/bin/bash
# Runs once, after the influxdb image's own setup (org, bucket with 180-day retention,
# admin token from .env): map the bucket to an InfluxQL database of the same name, so
# the Grafana dashboards' InfluxQL queries reach it through the v1 compatibility API.
set -euo pipefail
influx v1 dbrp create \
    --org "${DOCKER_INFLUXDB_INIT_ORG}" \
    --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
    --db "${DOCKER_INFLUXDB_INIT_BUCKET}" \
    --rp autogen \
    --default
echo "DBRP: database ${DOCKER_INFLUXDB_INIT_BUCKET} -> bucket ${DOCKER_INFLUXDB_INIT_BUCKET}"
