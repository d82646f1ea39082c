"""Print the README's two commands (the ```bash blocks under "## The two commands"), NUL-separated.

CI runs exactly what README.md tells a new user to run, so the two cannot drift apart.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path


def readme_commands(readme: Path) -> list[str]:
    """The command blocks of the README's "## The two commands" section, in order."""
    text = readme.read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[-1].split("\n## ", 1)[0]
    blocks = [textwrap.dedent(b).strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)]
    if len(blocks) != 2:
        raise SystemExit(f"{readme}: expected 2 ```bash blocks under '## The two commands', found {len(blocks)}")
    return blocks


if __name__ == "__main__":
    sys.stdout.write("\0".join(readme_commands(Path(sys.argv[1]))))
