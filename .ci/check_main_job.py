"""After the README's command 1: every installed flagship completed and skipped no baseline.

Usage: python .ci/check_main_job.py runs/quick   (exit 0 when all is well, 1 with one line per problem)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from labkit.core.plugins import PluginRegistry
from labkit.core.runner import default_out_dir


def problems(root: Path) -> list[str]:
    registry = PluginRegistry.discover()
    found = [f"plugin {p.name} failed to load: {p.error}" for p in registry.failures()]
    flagships = registry.flagships()
    if not flagships:
        found.append("no flagship experiment is installed")
    for _, entry in sorted(flagships.items()):
        path = default_out_dir(entry.full_name, None, root) / "results.json"
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            found.append(f"{entry.full_name}: no readable {path} ({exc})")
            continue
        if saved.get("status") != "completed":
            found.append(f"{entry.full_name}: status {saved.get('status')!r}, not 'completed'")
        if "skipped_baselines" not in saved:
            found.append(f"{entry.full_name}: results.json has no skipped_baselines")
        elif saved["skipped_baselines"]:
            found.append(f"{entry.full_name}: skipped baselines {saved['skipped_baselines']} (an optional dependency is missing)")
    return found


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/quick")
    bad = problems(root)
    for line in bad:
        print(f"CI: {line}", file=sys.stderr)
    if not bad:
        print(f"CI: every flagship completed in {root}, no baseline skipped", file=sys.stderr)
    sys.exit(1 if bad else 0)
