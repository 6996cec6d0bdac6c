"""Grafana dashboards: provisioning, JSON (json/) and the module that builds it (build.py)."""
