"""Rebuild evals/corpora/gdsway/ from a checkout of github.com/alphagov/gds-way (see gdsway.SOURCE.md).

Usage: python evals/corpora/gdsway.build.py /path/to/gds-way COMMIT
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ERB = re.compile(r"<%.*?%>", re.S)
SKIP = {"source/index.html.md.erb", "source/accessibility.html.md.erb"}  # the site's home page and its own statement


def main(repo: Path, commit: str) -> None:
    out = Path(__file__).parent / "gdsway"
    out.mkdir(exist_ok=True)
    names = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", commit],
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    for name in sorted(n for n in names if n.endswith(".html.md.erb") and n not in SKIP):
        raw = subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{name}"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        _, front, body = raw.split("---\n", 2)
        meta = yaml.safe_load(front)
        title = str(meta["title"]).strip()
        body = body.replace("<%= current_page.data.title %>", title)
        body = ERB.sub("", body).strip() + "\n"
        page = name.removeprefix("source/").removesuffix(".html.md.erb")
        doc_id = page.removesuffix("/index").replace("/", "-").replace("programming-languages-", "languages-")
        fields = {
            "title": title,
            "publisher": "Government Digital Service, Cabinet Office",
            "date": str(meta.get("last_reviewed_on", "")),
            "doc_type": "guidance", "evidence_type": "guidance", "jurisdiction": "UK", "level": "central",
            "topics": ["The GDS Way"],
            "source": f"https://gds-way.digital.cabinet-office.gov.uk/{page}.html",
            "licence": "MIT (Crown Copyright, Government Digital Service)",
            "source_file": f"github.com/alphagov/gds-way/blob/{commit}/{name}",
        }  # fmt: skip
        head = "\n".join(f"{k}: {json.dumps(v)}" if not isinstance(v, list) else f"{k}:\n" + "".join(
            f"  - {json.dumps(x)}\n" for x in v).rstrip() for k, v in fields.items())  # fmt: skip
        (out / f"{doc_id}.md").write_text(f"---\n{head}\n---\n\n{body}", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
