"""Reference device profiles shipped with hazard-gateway (YAML files in this folder)."""
