"""The Spark engine's session and reader: quiet, pointed at the configured cluster, typed like pandas.

Precedence for the master and each conf key: `SPARK_MASTER`, then spark-submit (a running driver, or
`--master`/`--conf` in `PYSPARK_SUBMIT_ARGS`), then `datasets.<d>.spark`, then the top-level `spark:`,
then `local[*]` bound to 127.0.0.1 with the web UI off (a gate run is no server).
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.errors import BadInput

if TYPE_CHECKING:
    from mlgitops.config import Project

QUIET_LOG4J = Path(__file__).with_name("log4j2-quiet.properties")
LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def settings(config: Project, dataset: Any) -> tuple[str | None, dict[str, str]]:
    """(master, conf) from mlgitops.yaml: the dataset's `spark:` over the top-level `spark:`."""
    top, own = config.spark, dataset.spark
    master = (own.master if own and own.master else None) or top.master
    conf = {**top.conf, **(own.conf if own else {})}
    return master, {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()}


def _submit_args() -> tuple[bool, set[str]]:
    """(whether PYSPARK_SUBMIT_ARGS names a master, the conf keys it sets): those win over mlgitops.yaml."""
    args = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    keys = {a.split("=", 1)[0] for prev, a in zip(["", *args], args, strict=False) if prev == "--conf"}
    keys |= {a[len("--conf=") :].split("=", 1)[0] for a in args if a.startswith("--conf=")}
    return any(a == "--master" or a.startswith("--master=") for a in args), keys


@contextlib.contextmanager
def _quiet_launch(verbose: bool) -> Iterator[None]:
    """The driver JVM starts with our log4j2 file (errors only) unless asked to be verbose: Spark logs its
    hostname, native-library and profile lines before any `setLogLevel` could run. A log4j2 file named by
    the user (in SPARK_SUBMIT_OPTS or spark.driver.extraJavaOptions, which come later) still wins."""
    before = os.environ.get("SPARK_SUBMIT_OPTS")
    if not verbose:
        os.environ["SPARK_SUBMIT_OPTS"] = f"-Dlog4j2.configurationFile={QUIET_LOG4J.as_uri()} {before or ''}".strip()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SPARK_SUBMIT_OPTS", None)
        else:
            os.environ["SPARK_SUBMIT_OPTS"] = before


# What the driver JVM prints on stderr at start outside any logger: Java's note on Spark 4's vector module,
# and Spark's hint for shells (pyspark's gateway counts as one), printed whatever the log4j2 file says.
JVM_NOISE = (
    "WARNING: Using incubator modules",
    "Setting default log level to",
    "To adjust logging level use sc.setLogLevel",
)


def _forward(stream: Any) -> None:
    """Copy the driver JVM's stderr to our process's (fd 2, where it would have written), minus its start-up
    noise; errors still come through."""
    for line in iter(stream.readline, b""):
        if not line.decode(errors="replace").startswith(JVM_NOISE):
            with contextlib.suppress(OSError):
                os.write(2, line)


def _launch_filtered(builder: Any) -> None:
    """Start the driver JVM (as getOrCreate would, with the builder's conf) with its stderr piped through
    `_forward`; getOrCreate then finds the gateway running."""
    import subprocess
    import threading

    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    conf = SparkConf(loadDefaults=False)
    for key, value in builder._options.items():
        conf.set(key, value)
    gateway = launch_gateway(conf, popen_kwargs={"stderr": subprocess.PIPE})
    threading.Thread(target=_forward, args=(gateway.proc.stderr,), daemon=True, name="mlgitops-spark-stderr").start()
    SparkContext._ensure_initialized(gateway=gateway)


def session(master: str | None, conf: dict[str, str], verbose: bool = False) -> Any:
    """The process's SparkSession (created once, reused by every Spark dataset of the run)."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        raise BadInput("engine: spark needs pyspark; pip install 'mlgitops[spark]' (and a Java 17+ runtime)") from None
    running = SparkContext._active_spark_context is not None or "PYSPARK_GATEWAY_PORT" in os.environ
    submit_master, submit_keys = _submit_args()
    builder = SparkSession.builder.appName("mlgitops-data")
    if running:  # inside spark-submit or beside the user's own session: its master and conf stand
        from pyspark import SparkConf

        present = SparkConf()
        conf = {k: v for k, v in conf.items() if not present.contains(k)}
    else:
        chosen = os.environ.get("SPARK_MASTER") or (None if submit_master else master or "local[*]")
        if chosen:
            builder = builder.master(chosen)
        if (chosen or "").startswith("local"):
            conf = {**LOCAL_DEFAULTS, **conf}
        if not verbose:
            conf.setdefault("spark.ui.showConsoleProgress", "false")
        conf = {k: v for k, v in conf.items() if k not in submit_keys}
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        with _quiet_launch(verbose):
            if not running and not verbose:
                _launch_filtered(builder)
            spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - no Java, a bad master URL: the user fixes the setup
        raise BadInput(
            f"cannot start Spark ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "check Java 17+, datasets.<d>.spark / spark: in mlgitops.yaml and SPARK_MASTER"
        ) from None
    if not verbose:
        spark.sparkContext.setLogLevel("ERROR")  # a session that was already running keeps its appenders
    return spark


def read(
    spark: Any, location: str, fmt: str, tokens: list[str], declared: Mapping[str, str], implied: dict[str, Any]
) -> tuple[Any, dict[str, str], int]:
    """The dataset as a Spark DataFrame typed like the pandas engine reads it; s3:// is read through S3A.

    Returns (frame, {column: a value that did not parse as its declared/implied type}, rows)."""
    from mlgitops.data.columns import spark_nulls, spark_types

    uri = "s3a://" + location[5:] if location.startswith("s3://") else location
    try:
        if fmt == "parquet":
            frame = spark.read.parquet(uri)
            return frame, {}, frame.count()  # from the files' footers
        # all text first: the null tokens and the types are decided by mlgitops, the same as for pandas;
        # `escape '"'` reads RFC 4180 quoting ("" inside quotes) as pandas does
        reader = spark.read.option("header", True).option("inferSchema", False).option("escape", '"')
        reader = reader.option("nullValue", "" if "" in tokens or not tokens else tokens[0])
        if "" not in tokens:
            reader = reader.option("emptyValue", "")
        frame = reader.csv(uri)
        return spark_types(spark_nulls(frame, tokens), declared, implied)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - AnalysisException and friends: an unreadable file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadInput(
            f"{location}: Spark cannot read it as {fmt} ({first}); check the file, the format, "
            "and for s3:// the hadoop-aws package on Spark's classpath (docs/data.md)"
        ) from None
