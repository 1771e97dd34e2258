"""Where the export checks' Node tools live: inspecjs and MITRE's saf CLI.

``scripts/setup`` installs them with npm into ``tools/node`` of the checkout (never committed);
``$HARNESS_NODE_TOOLS`` points at another folder that holds a ``node_modules``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pydantic import BaseModel

CHECKOUT_TOOLS = Path(__file__).resolve().parents[2] / "tools" / "node"


class NodeTools(BaseModel):
    node: str
    modules: Path

    @property
    def saf(self) -> Path:
        return self.modules / ".bin" / "saf"


def find_node_tools() -> NodeTools | str:
    """The tools, or one line that says what is missing and how to get it."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed (apt-get install nodejs npm, then scripts/setup)"
    root = Path(os.environ.get("HARNESS_NODE_TOOLS") or CHECKOUT_TOOLS)
    modules = root / "node_modules"
    if not (modules / "inspecjs").is_dir() or not (modules / ".bin" / "saf").is_file():
        return f"inspecjs and @mitre/saf are not installed in {root} (scripts/setup installs them)"
    return NodeTools(node=node, modules=modules)
