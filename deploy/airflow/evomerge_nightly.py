"""Nightly evomerge run from Airflow (apache-airflow-providers-apache-spark).

Copy this file to the DAGs folder and create a Spark connection `spark_gpu` (host
spark://spark-master, port 7077, or k8s://https://API-SERVER). The Spark settings are those of
deploy/spark-gpu.conf, read when the DAG is parsed, so the DAG, the wrapper script and the cron
line submit the same way. EVOMERGE_HOME (default /opt/evomerge) is where the repository and the
built jar live on the Airflow worker.
"""

import os

import pendulum
from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

EVOMERGE_HOME = os.environ.get("EVOMERGE_HOME", "/opt/evomerge")
JAR = os.path.join(EVOMERGE_HOME, "driver/target/evomerge-driver-0.1.0-SNAPSHOT-spark.jar")
MAIN_CLASS = "dev.evomerge.driver.cli.Main"
RUN_CONFIG = os.path.join(EVOMERGE_HOME, "deploy/nightly.conf")
SPARK_PROPERTIES = os.path.join(EVOMERGE_HOME, "deploy/spark-gpu.conf")


def spark_properties(path):
    """The key/value lines of a spark-defaults style file (comments and blank lines skipped)."""
    conf = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            conf[key] = value.strip()
    return conf


with DAG(
    dag_id="evomerge_nightly",
    schedule="30 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["evomerge"],
) as dag:
    SparkSubmitOperator(
        task_id="evolve",
        conn_id="spark_gpu",
        application=JAR,
        java_class=MAIN_CLASS,
        name="evomerge-nightly",
        conf=spark_properties(SPARK_PROPERTIES) if os.path.exists(SPARK_PROPERTIES) else {},
        files=RUN_CONFIG,
        deploy_mode="client",
        # client mode: the driver runs on the Airflow worker, which must mount the runs root
        application_args=["run", "--config", RUN_CONFIG, "--warm-start", "latest"],
        execution_timeout=pendulum.duration(hours=12),
        retries=0,
    )
