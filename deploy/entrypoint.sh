#!/bin/sh
# Container entrypoint: migrate the database to head, then run the command (by default
# `astroshield serve`). With several replicas, run the migration once before them (compose:
# the `migrate` service) and give the replicas ASTROSHIELD_MIGRATE_ON_START=false.
set -eu
if [ "${ASTROSHIELD_MIGRATE_ON_START:-true}" != "false" ]; then
    astroshield db upgrade
fi
exec "$@"
