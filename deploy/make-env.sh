#!/bin/sh
# Write .env from .env.example with a fresh random value for every change-me placeholder.
# Usage: deploy/make-env.sh [.env]   (refuses to overwrite an existing file)
set -eu
cd "$(dirname "$0")/.."
target="${1:-.env}"
if [ -e "$target" ]; then
    echo "$target exists; remove it first to regenerate" >&2
    exit 1
fi
umask 077
while IFS= read -r line; do
    case "$line" in
        *=change-me) printf '%s=%s\n' "${line%%=*}" "$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')" ;;
        *) printf '%s\n' "$line" ;;
    esac
done < .env.example > "$target"
echo "wrote $target; logins: Grafana admin / GRAFANA_ADMIN_PASSWORD, panel HAZARD_PANEL_USER / HAZARD_PANEL_PASSWORD"
