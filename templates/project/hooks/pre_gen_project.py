"""Reject answers that would render a project mlgitops cannot build, before any file is written.

Runs under the Python that runs cookiecutter, which may not have mlgitops installed, so the rules are
restated here; the suite's tests check they match `mlgitops.config.schema`.
"""
import json
import re
import sys

SLUG = r"^[a-z][a-z0-9-]*[a-z0-9]$"
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
GITHUB_OWNER = r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$"
GITHUB_REPO = r"^[A-Za-z0-9_.-]{1,100}$"
SLUG_MAX = 40
NAME_LIMIT = 63
ROLES = ("data", "artifacts", "models", "access-logs", "storage", "training", "images", "batch", "batch-instance", "batch-job", "mlflow",
         "deploy", "publish", "observe")
BUCKET_ROLES = ("data", "artifacts", "models", "access-logs")
NAME_SUFFIX = r"^[a-z0-9]{4,8}$"
ACCOUNT_ID = r"^\d{12}$"
MODELS = {"binary_classification": "classifier", "regression": "regressor"}
# Package names that would shadow what the project imports from its own src/.
RESERVED = {"mlgitops", "mlflow", "sklearn", "pandas", "numpy", "scipy", "pulumi", "pulumi_aws", "great_expectations", "tests"}


def problems(answers: dict) -> list:
    """Every reason the answers cannot render a working project, each naming the answer and the fix."""
    out = []
    name, slug = answers["project_name"], answers["project_slug"]
    if not name.strip() or any(ord(c) < 32 for c in name):
        out.append(f"project_name {name!r}: must be one line of text")
    if not re.match(SLUG, slug):
        out.append(f"project_slug {slug!r}: use at least 2 characters: lowercase letters, digits and hyphens, starting with a letter "
                   "and not ending with a hyphen (it names S3 buckets and SageMaker resources), e.g. fraud-detection")
    elif len(slug) > SLUG_MAX:
        out.append(f"project_slug {slug!r}: {len(slug)} characters; at most {SLUG_MAX}")
    else:
        envs = ["local", *answers["environments"].split(",")]
        suffix = f"-{answers.get('name_suffix')}" if answers.get("name_suffix") else ""
        longest = max((f"{slug}-{env}-{role}{suffix if role in BUCKET_ROLES else ''}"
                       for env in envs for role in (*ROLES, MODELS[answers["problem_type"]])), key=len)
        if len(longest) > NAME_LIMIT:
            out.append(f"project_slug {slug!r}: resource name {longest!r} would be {len(longest)} characters; "
                       f"S3 and SageMaker allow {NAME_LIMIT}: choose a shorter slug")
        package = slug.replace("-", "_")
        if package in RESERVED or package in getattr(sys, "stdlib_module_names", ()):
            out.append(f"project_slug {slug!r}: the Python package '{package}' would shadow a module of that name; choose another slug")
    if answers.get("name_suffix") and not re.match(NAME_SUFFIX, answers["name_suffix"]):
        out.append(f"name_suffix {answers['name_suffix']!r}: use 4 to 8 lowercase letters and digits (it ends every bucket name), "
                   "or leave it empty for none")
    if not re.match(EMAIL, answers["owner"]):
        out.append(f"owner {answers['owner']!r}: expected an email address, e.g. ml-team@yourcompany.com")
    if not re.match(REGION, answers["aws_region"]):
        out.append(f"aws_region {answers['aws_region']!r}: expected an AWS region such as eu-west-1 or us-gov-west-1")
    if answers.get("aws_account_id") and not re.match(ACCOUNT_ID, answers["aws_account_id"]):
        out.append(f"aws_account_id {answers['aws_account_id']!r}: an AWS account id is 12 digits, or leave it empty and set the "
                   "repository variable AWS_ACCOUNT_ID")
    if not re.match(GITHUB_OWNER, answers["github_org"]):
        out.append(f"github_org {answers['github_org']!r}: a GitHub owner is letters, digits and single hyphens, at most 39 characters")
    if not re.match(GITHUB_REPO, answers["github_repo"]) or answers["github_repo"] in (".", ".."):
        out.append(f"github_repo {answers['github_repo']!r}: a GitHub repository name is letters, digits, '.', '_' and '-'")
    return out


if __name__ == "__main__":
    context = json.loads({{ cookiecutter | tojson | tojson }})
    found = problems(context)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
