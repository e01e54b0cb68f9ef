"""A production install (`pip install snailtrail`, without the `sandbox` extra) works without moto and Flask."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What only the sandbox extra brings: moto[server] and what it pulls in for its server.
SANDBOX_ONLY = ("moto", "flask", "flask_cors", "werkzeug", "responses")

WITHOUT_THE_EXTRA = f"""
import contextlib, importlib, io, json, pathlib, sys

BLOCKED = {SANDBOX_ONLY!r}
for name in BLOCKED:
    sys.modules[name] = None  # as if not installed: importing it fails, find_spec answers None
import snailtrail
from snailtrail.cli import app, run

imported = []
root = pathlib.Path(snailtrail.__file__).parent
for path in sorted(root.rglob("*.py")):
    name = ".".join(("snailtrail", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
    if not name.startswith("snailtrail.sandbox") and name != "snailtrail.__main__":
        importlib.import_module(name)
        imported.append(name)

helps = {{}}
commands = [[]] + [[c.name] for c in app.registered_commands] + [[g.name] for g in app.registered_groups]
commands += [["infra", "plan"], ["infra", "up"], ["sandbox", "up"]]
for command in commands:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        helps[" ".join(command)] = run([*command, "--help"])
err = io.StringIO()
with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
    sandbox_status = run(["--config", {str(REPO / "snailtrail.yaml")!r}, "status"])
loaded = sorted(name for name, module in sys.modules.items() if name.split(".")[0] in BLOCKED and module)
print(json.dumps({{"imported": imported, "helps": helps, "sandbox_status": sandbox_status,
                  "sandbox_error": err.getvalue(), "loaded": loaded}}))
"""


def test_every_module_and_every_help_works_without_the_sandbox_extra() -> None:
    answer = subprocess.run([sys.executable, "-c", WITHOUT_THE_EXTRA], capture_output=True, text=True, cwd=REPO)
    assert answer.returncode == 0, answer.stderr
    result = json.loads(answer.stdout.splitlines()[-1])
    assert "snailtrail.cli" in result["imported"] and "snailtrail.infra.stack" in result["imported"]
    assert len(result["imported"]) > 60
    assert set(result["helps"].values()) == {0}, result["helps"]
    assert {"", "deploy", "verify", "infra plan", "infra up", "doctor", "sandbox up"} <= set(result["helps"])
    assert result["loaded"] == []
    # A sandbox environment without the extra says how to get it.
    assert result["sandbox_status"] == 2
    assert "pip install 'snailtrail[sandbox]'" in result["sandbox_error"]
