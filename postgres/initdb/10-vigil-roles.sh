#!/bin/sh
# The controller's roles, schemas and grants for the compose stack's PostgreSQL: runs
# postgres/roles.sql (mounted at /opt/vigil/roles.sql), the file `vigil stack up` runs natively.
#
# The postgres image runs /docker-entrypoint-initdb.d/*.sh once, when it initialises an empty
# data directory: as the postgres user, against a server on its unix socket only, with
# PGPASSWORD set to the superuser's (docker-library/postgres docker-entrypoint.sh). A script
# that is not executable is sourced instead, so this one neither exits nor sets -u.
#
# The role passwords come from the secrets volume (secrets-init) and reach psql through its
# environment, never its command line.
set -e
app_password="$(cat /run/vigil-secrets/postgres_vigil_password)"
readonly_password="$(cat /run/vigil-secrets/postgres_readonly_password)"
VIGIL_PG_APP_PASSWORD="$app_password" VIGIL_PG_READONLY_PASSWORD="$readonly_password" \
  psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -f /opt/vigil/roles.sql
