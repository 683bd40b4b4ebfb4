"""The shared platform stack: `pulumi up --stack prod` here; `mlgitops plan --program infra --env prod` offline."""
from pathlib import Path

import pulumi

from mlgitops.config import load
from mlgitops.infra import deploy_state, program

config = load(Path(__file__).parent, pulumi.get_stack())
for note in program(config, deploy_state(config.root, config.env)):
    pulumi.log.info(note)
