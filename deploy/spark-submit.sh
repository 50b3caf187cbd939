#!/usr/bin/env bash
# Submits evomerge to a Spark cluster with the GPU properties in deploy/spark-gpu.conf.
#
#   deploy/spark-submit.sh [--master URL] [--deploy-mode client|cluster] [--conf k=v ...] \
#       [--dry-run] -- run --config deploy/nightly.conf [--warm-start latest] [--set k=v ...]
#
# Everything after `--` goes to evomerge (`evomerge <command> --help`). The config file given to
# --config is shipped with --files and, in cluster mode, named by its file name (the driver runs
# in its own working directory). Environment: SPARK_HOME (spark-submit is $SPARK_HOME/bin/spark-submit,
# else the one on PATH), EVOMERGE_JAR (default: the jar `mvn -B -DskipTests package` builds),
# EVOMERGE_SPARK_PROPERTIES (default: deploy/spark-gpu.conf), EVOMERGE_APP_NAME (the application's
# name in the Spark UI and the History Server, default evomerge), SPARK_SUBMIT (the command itself).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="$(cd "$here/.." && pwd)"
jar="${EVOMERGE_JAR:-$home/driver/target/evomerge-driver-0.1.0-SNAPSHOT-spark.jar}"
properties="${EVOMERGE_SPARK_PROPERTIES:-$here/spark-gpu.conf}"
submit="${SPARK_SUBMIT:-${SPARK_HOME:+$SPARK_HOME/bin/}spark-submit}"
main_class="dev.evomerge.driver.cli.Main"

master=""
deploy_mode="client"
dry_run=false
spark_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --master) master="$2"; shift 2 ;;
    --deploy-mode) deploy_mode="$2"; shift 2 ;;
    --conf) spark_args+=(--conf "$2"); shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "spark-submit.sh: unknown option '$1' (evomerge's arguments go after --)" >&2; exit 2 ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "spark-submit.sh: no evomerge command after -- (for example: -- run --config deploy/nightly.conf)" >&2
  exit 2
fi
if [ ! -f "$jar" ] && [ "$dry_run" = false ]; then
  echo "spark-submit.sh: $jar is missing; build it with: mvn -B -DskipTests package" >&2
  exit 2
fi
if [ ! -f "$properties" ]; then
  echo "spark-submit.sh: properties file $properties does not exist (EVOMERGE_SPARK_PROPERTIES)" >&2
  exit 2
fi

# ship --config's file; in cluster mode the driver finds it by its name in its working directory
evomerge_args=()
files=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--config" ] && [ $# -gt 1 ]; then
    if [ ! -f "$2" ]; then
      echo "spark-submit.sh: config file $2 does not exist" >&2
      exit 2
    fi
    files+=("$2")
    if [ "$deploy_mode" = "cluster" ]; then
      evomerge_args+=(--config "$(basename "$2")")
    else
      evomerge_args+=(--config "$2")
    fi
    shift 2
  else
    evomerge_args+=("$1")
    shift
  fi
done

command=("$submit" --properties-file "$properties" --deploy-mode "$deploy_mode" --class "$main_class"
  --name "${EVOMERGE_APP_NAME:-evomerge}")
[ -n "$master" ] && command+=(--master "$master")
[ ${#files[@]} -gt 0 ] && command+=(--files "$(IFS=,; echo "${files[*]}")")
command+=(${spark_args[@]+"${spark_args[@]}"} "$jar" "${evomerge_args[@]}")

if [ "$dry_run" = true ]; then
  printf '%q ' "${command[@]}"
  echo
  exit 0
fi
exec "${command[@]}"
