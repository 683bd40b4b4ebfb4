"""Regenerate src/mlgitops/infra/instance_types.json: vCPUs, memory (MiB) and GPUs per EC2 instance type, from
EC2's DescribeInstanceTypes (AWS credentials, any region; AWS_ENDPOINT_URL points it elsewhere). The plan checks that
a Batch job's resource requirements fit the compute environment's instance types against this table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3

OUT = Path(__file__).resolve().parents[1] / "src" / "mlgitops" / "infra" / "instance_types.json"


def main() -> int:
    table = {}
    for page in boto3.client("ec2").get_paginator("describe_instance_types").paginate():
        for t in page["InstanceTypes"]:
            gpus = sum(g.get("Count", 0) for g in t.get("GpuInfo", {}).get("Gpus", []))
            table[t["InstanceType"]] = [t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"], gpus]
    OUT.write_text("{\n" + ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in sorted(table.items())) + "\n}\n")
    print(f"{len(table)} instance types written to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
