"""The child side of a plan: runs one or more Pulumi programs under Pulumi's own mock engine.

Runs in a fresh interpreter (`python -m mlgitops.plan._engine REQUEST.json RESULT.json`) so that
Pulumi's process-global runtime state never leaks between plans and a looping program can be killed.
Each plan resets the runtime settings, root stack and config before it starts.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import settings as psettings

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


class UnknownInvoke(Exception):
    """A data source the offline engine cannot answer: the plan fails and names the token."""


SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's special-value signature key
SECRET_SIG, RESOURCE_SIG, ASSET_SIG, ARCHIVE_SIG, OUTPUT_SIG = (
    "1b47061264138c4ac30d75fd1eb44270",
    "5cf8f73096256a8f31e491e813e4eb8e",
    "c44067f5952c0a294b673a41bacd8c17",
    "0def7320c3a5731c473e5ecbe6d01bc7",
    "d0e6a833031e9bbcd3f4e8bde6ca49a4",
)
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _plain(value: Any) -> Any:
    """Wire values (from `MessageToDict` of a registration, or resolved outputs) to JSON-safe data:
    secrets unwrapped, resource references as their URN, assets as their path/text, unknowns as "<unknown>"."""
    if isinstance(value, dict):
        sig = value.get(SIG)
        if sig in (SECRET_SIG, OUTPUT_SIG):
            return _plain(value.get("value"))
        if sig == RESOURCE_SIG:
            return value.get("urn")
        if sig in (ASSET_SIG, ARCHIVE_SIG):
            return value.get("path") or value.get("uri") or value.get("text") or "<asset>"
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value == UNKNOWN:
        return "<unknown>"
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct carries every number as a double
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    urn = getattr(value, "urn", None)
    return f"<resource {type(value).__name__}>" if urn is not None else str(value)


def _one(values: list[Any]) -> Any:
    """AWS renders single-element lists in policy documents as a scalar; so do we."""
    return values[0] if len(values) == 1 else list(values)


def render_policy_document(args: dict[str, Any]) -> str:
    """`aws.iam.get_policy_document` arguments (camelCase) to the IAM JSON the provider would return."""
    statements = []
    for st in args.get("statements") or []:
        out: dict[str, Any] = {}
        if st.get("sid"):
            out["Sid"] = st["sid"]
        out["Effect"] = st.get("effect") or "Allow"
        for key, field in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if st.get(key):
                out[field] = _one(sorted(st[key]) if key.endswith("ctions") else st[key])
        for key, field in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if st.get(key):
                principal: dict[str, Any] = {}
                for p in st[key]:
                    principal.setdefault(p["type"], []).extend(p.get("identifiers") or [])
                out[field] = "*" if principal == {"*": ["*"]} else {k: _one(v) for k, v in principal.items()}
        if st.get("conditions"):
            cond: dict[str, dict[str, Any]] = {}
            for c in st["conditions"]:
                cond.setdefault(c["test"], {})[c["variable"]] = _one(c.get("values") or [])
            out["Condition"] = cond
        statements.append(out)
    return json.dumps({"Version": args.get("version") or "2012-10-17", "Statement": statements}, indent=2)


class RecordingMocks(pmocks.Mocks):
    """Answers resource registrations with plausible outputs (ARNs, ids, URLs) and the common AWS data sources."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account

    def call(self, args: pmocks.MockCallArgs):
        a, r, tok = self.account, self.region, args.token
        if tok == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": a, "arn": f"arn:aws:iam::{a}:user/plan", "userId": "AIDAPLAN", "id": a}
        if tok == "aws:index/getRegion:getRegion":
            return {"region": r, "name": r, "id": r, "endpoint": f"ec2.{r}.amazonaws.com", "description": r}
        if tok == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}
        if tok == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
                "names": [f"{r}a", f"{r}b", f"{r}c"],
                "zoneIds": [f"{r[:3]}-az1", f"{r[:3]}-az2", f"{r[:3]}-az3"],
                "id": r,
                "groupNames": [r],
            }
        if tok == "aws:iam/getPolicyDocument:getPolicyDocument":
            doc = render_policy_document(args.args)
            return {
                "json": doc,
                "minifiedJson": json.dumps(json.loads(doc), separators=(",", ":")),
                "id": "policy-document",
            }
        if (
            tok == "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"
        ):  # IAM names a provider after its URL's host and path
            host = str(args.args.get("url") or "token.actions.githubusercontent.com").removeprefix("https://")
            arn = args.args.get("arn") or f"arn:aws:iam::{a}:oidc-provider/{host}"
            return {
                "arn": arn,
                "url": host,
                "clientIdLists": ["sts.amazonaws.com"],
                "thumbprintLists": [],
                "tags": {},
                "id": arn,
            }
        if tok == "aws:ec2/getVpc:getVpc":
            return {
                "id": "vpc-0plan",
                "cidrBlock": "172.31.0.0/16",
                "default": True,
                "arn": f"arn:aws:ec2:{r}:{a}:vpc/vpc-0plan",
            }
        if tok == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-0plana", "subnet-0planb"], "id": r}
        raise UnknownInvoke(
            f"data source '{tok}' has no offline answer in the plan engine (supported: caller identity, region, partition, availability zones, policy documents, OIDC providers, default VPC and subnets)"
        )

    def new_resource(self, args: pmocks.MockResourceArgs):
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        parts = typ.split(":")
        service = parts[1].split("/")[0] if len(parts) == 3 else "pulumi"
        kind = parts[2].lower() if len(parts) == 3 else "resource"
        physical = inputs.get("name") or inputs.get("bucket") or inputs.get("trackingServerName") or name
        a, r = self.account, self.region
        state: dict[str, Any] = {**inputs}
        if (
            typ == "pulumi:pulumi:StackReference"
        ):  # only mlgitops' platform stack is known offline (mlgitops.infra.platform)
            from mlgitops.infra.platform import offline_outputs

            return str(inputs.get("name") or name), {
                "name": inputs.get("name") or name,
                "outputs": offline_outputs(a),
                "secretOutputNames": [],
            }
        if service == "s3" and kind == "bucket":
            state.update(
                bucket=physical,
                arn=f"arn:aws:s3:::{physical}",
                bucketDomainName=f"{physical}.s3.amazonaws.com",
                region=r,
            )
            return physical, state
        if service == "iam":
            iam_kind = {
                "role": "role",
                "policy": "policy",
                "openidconnectprovider": "oidc-provider",
                "user": "user",
            }.get(kind, kind)
            if kind == "openidconnectprovider":
                physical = str(inputs.get("url", name)).removeprefix("https://")
            state.setdefault("name", physical)
            state.update(
                arn=f"arn:aws:iam::{a}:{iam_kind}/{physical}", uniqueId=f"AROA{abs(hash(physical)) % 10**12:012d}"
            )
            return physical, state
        if service == "kms" and kind == "key":
            key_id = f"mock-key-{name}"
            state.update(keyId=key_id, arn=f"arn:aws:kms:{r}:{a}:key/{key_id}")
            return key_id, state
        if service == "kms" and kind == "alias":
            state.update(arn=f"arn:aws:kms:{r}:{a}:{physical}")
            return physical, state
        if service == "ecr" and kind == "repository":
            state.update(
                name=physical,
                repositoryUrl=f"{a}.dkr.ecr.{r}.amazonaws.com/{physical}",
                registryId=a,
                arn=f"arn:aws:ecr:{r}:{a}:repository/{physical}",
            )
            return physical, state
        if isinstance(inputs.get("name"), str) or service in ("sagemaker", "batch", "cloudwatch", "appautoscaling"):
            state.setdefault("name", physical)
        state.setdefault("arn", f"arn:aws:{service}:{r}:{a}:{kind}/{physical}")
        return f"{physical}-id", state


def _without_resource_refs(request):
    """A copy of a RegisterResourceRequest with every resource reference replaced by the resource's ID (or URN)."""
    from google.protobuf import struct_pb2

    def visit(value: struct_pb2.Value) -> None:
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            fields = value.struct_value.fields
            if SIG in fields and fields[SIG].string_value == RESOURCE_SIG:
                ref = fields.get("id") or fields["urn"]
                value.string_value = ref.string_value
                return
            for v in fields.values():
                visit(v)
        elif kind == "list_value":
            for v in value.list_value.values:
                visit(v)

    copy = type(request)()
    copy.CopyFrom(request)
    for v in copy.object.fields.values():
        visit(v)
    return copy


class RecordingMonitor(pmocks.MockMonitor):
    """The mock monitor, also recording what each registration asked for (parent, dependencies, inputs)."""

    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the real engine makes them: the parent's type chain, without the root Stack."""
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                type_ = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([psettings.get_stack(), psettings.get_project(), type_, name])

    def RegisterResource(self, request):  # noqa: N802 - Pulumi's monitor protocol
        # MockMonitor deserializes the inputs on a worker thread, where a resource reference would be
        # rehydrated into a new Resource whose RPCs land on that thread's loop and hang the plan. The engine
        # gives a provider the referenced resource's ID instead; so do we.
        response = super().RegisterResource(_without_resource_refs(request))
        if request.type != "pulumi:pulumi:Stack":
            from google.protobuf.json_format import MessageToDict

            # Not rpc.deserialize_properties: it would rehydrate resource references (a second registration).
            inputs = MessageToDict(request.object, preserving_proto_field_name=True)
            parent = request.parent or None
            if parent and parent.split("::")[2] == "pulumi:pulumi:Stack":
                parent = None
            record = {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "parent": parent,
                "dependencies": sorted(set(request.dependencies)),
                "inputs": _plain(inputs),
            }
            with self._lock:
                self.records.append(record)
        return response


def stack_config(program_dir: Path, project: str, stack: str, overrides: dict[str, Any] | None) -> dict[str, str]:
    """`Pulumi.<stack>.yaml` config (plus overrides), with keys namespaced as Pulumi does and values as strings."""
    from mlgitops import files

    raw: dict[str, Any] = {}
    stack_file = program_dir / f"Pulumi.{stack}.yaml"
    if stack_file.is_file():
        raw = (files.load_yaml(stack_file, fix="fix the YAML (Pulumi reads this file too)") or {}).get("config") or {}
    raw.update(overrides or {})
    out = {}
    for key, value in raw.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            value = "plan-secret"
        out[full] = value if isinstance(value, str) else json.dumps(value)
    return out


def _reset(project: str, stack: str, config: dict[str, str], region: str, account: str) -> RecordingMonitor:
    from pulumi.runtime.config import set_all_config

    psettings.reset_options(project=project, stack=stack, preview=False, organization="organization")
    set_all_config(config)
    monitor = RecordingMonitor(RecordingMocks(region, account))
    pmocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    return monitor


def _execute(body) -> dict[str, Any]:
    """Run a program body to completion (all registrations done) and resolve the stack outputs."""
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    result: dict[str, Any] = {}

    def run() -> None:
        body()
        root = psettings.get_root_resource()
        outputs = dict(getattr(root, "outputs", {}) or {})
        result["outputs"] = _plain(_sync_await(pulumi.Output.from_input(outputs).future()) or {})

    _sync_await(run_pulumi_func(run))
    return result.get("outputs", {})


def _trim(exc: BaseException, roots: list[str]) -> str:
    """The program's own frames only (not Pulumi's or ours), then the error line."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if any(f.filename.startswith(r) for r in roots)]
    lines = ["Traceback (program frames only):"] if mine else []
    lines += [
        f'  File "{f.filename}", line {f.lineno}, in {f.name}' + (f"\n    {f.line}" if f.line else "") for f in mine
    ]
    lines.append("".join(traceback.format_exception_only(type(exc), exc)).strip())
    return "\n".join(lines)


def plan_one(req: dict[str, Any]) -> dict[str, Any]:
    """Plan one request: `{"kind": "program"|"project", ...}`. Returns a Plan dict or `{"error": ...}`."""
    stack = req["stack"]
    holder: dict[str, list[str]] = {"notes": []}
    region, account = req.get("region") or DEFAULT_REGION, req.get("account") or DEFAULT_ACCOUNT
    if req["kind"] == "program":
        program_dir = Path(req["program_dir"]).resolve()
        project, main = req["project"], program_dir / req.get("main", "__main__.py")
        config = stack_config(program_dir, project, stack, req.get("config"))
        region = config.get("aws:region", region)
        roots = [str(program_dir)]

        def body() -> None:
            before = set(sys.modules)
            sys.path.insert(0, str(program_dir))
            cwd = os.getcwd()
            os.chdir(program_dir)
            try:
                runpy.run_path(str(main), run_name="__main__")
            finally:
                os.chdir(cwd)
                sys.path.remove(str(program_dir))
                for mod in set(sys.modules) - before:  # the program's own modules must not leak into the next plan
                    if getattr(sys.modules[mod], "__file__", "") and str(sys.modules[mod].__file__).startswith(
                        str(program_dir)
                    ):
                        del sys.modules[mod]
    else:
        from mlgitops import infra
        from mlgitops.config.schema import Config, Project
        from mlgitops.evidence import DeployState

        cfg = Project.of(Config.model_validate(req["config_data"]), Path(req["root"]), stack)
        project, config = cfg.project, {"aws:region": cfg.cloud.region}
        region, account = cfg.cloud.region, cfg.cloud.account_id or account
        roots = [str(Path(infra.__file__).parent)]

        def body() -> None:
            state = req.get("deploy_state")
            holder["notes"] = list(
                infra.program(cfg, None if state is None else DeployState.model_validate(state)) or []
            )

    monitor = _reset(project, stack, config, region, account)
    try:
        outputs = _execute(body)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as a readable error
        return {"error": _trim(exc, roots)}
    notes = holder["notes"]
    resources = sorted(monitor.records, key=lambda r: r["urn"])
    return {"stack": stack, "project": project, "resources": resources, "outputs": outputs, "notes": notes}


def main(argv: list[str]) -> int:
    requests = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    results = []
    for req in requests:
        results.append(plan_one(req))
    Path(argv[2]).write_text(json.dumps(results, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
