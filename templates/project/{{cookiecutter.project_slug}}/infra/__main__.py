"""This project's stack: `pulumi up --stack <env>` here; `mlgitops plan --env <env>` offline."""
from pathlib import Path

import pulumi

from mlgitops.config import load
from mlgitops.infra import deploy_state, program

config = load(Path(__file__).resolve().parents[1], pulumi.get_stack())
for note in program(config, deploy_state(config.root, config.env)):
    pulumi.log.info(note)
