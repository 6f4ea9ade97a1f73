"""The learner edition: ``python3 run.py release DIR`` writes a self-contained copy for learners.

    python -m autograder.release DIR [--force]

DIR gets the student notebooks (generated afresh from ``solutions/`` by nbgrader, so they are
exactly what a class would be released), the helper package ``nnopt_helpers/`` with the visible
checks' data, the answer-free part of ``autograder/`` those checks call functions with
(``plain.py``, ``drivers.py``), a learner README, ``run.py`` (``lab`` and ``check``), packaging
and ``environment.yml``, and ``docs/conventions.md`` (the page the notebooks link to). Nothing in it answers an exercise: no ``solutions/``, no hidden-test
modules, references, mutants or properties, no solution region of any notebook
(``tests/test_release.py`` searches the copy for each solution line and each reference function).

The instructor keeps this repository private and gives learners the edition: a public
repository, a zip, or nbgrader's release/fetch of ``notebooks/``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

__all__ = ["release", "EDITION_FILES", "ANSWER_FREE"]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "edition"
#: Pages of ``docs/`` the notebooks link to (``../../docs/...`` from ``notebooks/<id>/``).
LEARNER_DOCS = ("docs/conventions.md",)
#: The modules of ``autograder/`` the visible checks import: they call a function on a case and
#: turn its output into plain data, and hold no reference, expected value or mistake.
ANSWER_FREE = ("plain.py", "drivers.py")
#: Files of the edition written from ``autograder/edition/``.
EDITION_FILES = ("README.md", "run.py")

_PYPROJECT = '''[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "nnopt-learner"
version = "{version}"
description = "Neural-network optimization course, learner edition: notebooks and their helper package"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
{dependencies}
]

[tool.setuptools]
packages = ["nnopt_helpers", "autograder"]

[tool.setuptools.package-data]
nnopt_helpers = ["expected/*.json", "expected/README.md"]
'''

#: What a learner's notebooks and ``run.py check`` need (a subset of the course's pyproject.toml).
LEARNER_PACKAGES = ("numpy", "matplotlib", "scikit-learn", "threadpoolctl", "ipywidgets", "jupyterlab", "nbformat",
                    "nbclient", "ipykernel", "pillow", "tqdm")

_INIT = '''"""The answer-free part of the course's grader that the visible checks use: ``drivers`` call a
function on a case, ``plain`` compares plain data. No reference, expected value or mistake lives here."""
'''


def _requirements() -> tuple[list[str], str]:
    """The learner packages with the version ranges of the course's pyproject.toml, and its version."""
    text = (ROOT / "pyproject.toml").read_text()
    deps = text.split("\ndependencies = [", 1)[1].split("\n]", 1)[0]  # tomllib is Python 3.11+
    by_name = {}
    for req in re.findall(r'"([^"]+)"', deps):
        by_name[re.split(r"[\[<>=!~ ]", req, maxsplit=1)[0]] = re.sub(r"\[[^\]]*\]", "", req)
    missing = [p for p in LEARNER_PACKAGES if p not in by_name]
    if missing:
        raise RuntimeError(f"pyproject.toml does not list {missing}")
    version = re.search(r'^version = "([^"]+)"', text, re.M).group(1)
    return [by_name[p] for p in LEARNER_PACKAGES], version


def _environment_yml(requirements: list[str]) -> str:
    lines = ["# conda / mamba / Binder environment of the nnopt learner edition:",
             "#   conda env create -f environment.yml && conda activate nnopt-learner && jupyter lab notebooks/",
             "name: nnopt-learner", "channels:", "  - conda-forge", "dependencies:", "  - python>=3.10", "  - pip"]
    lines += [f"  - {r}" for r in requirements]
    lines += ["  - pip:", "      - -e ."]
    return "\n".join(lines) + "\n"


def release(dest: Path, *, force: bool = False, ids: list[str] | None = None) -> Path:
    """Write the learner edition into ``dest`` (see the module docstring); ``dest``."""
    from .generate import assignment_ids, generate

    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        if not force:
            raise FileExistsError(f"{dest} is not empty (pass --force to replace its edition files)")
        for name in ("notebooks", "nnopt_helpers", "autograder", "docs"):
            shutil.rmtree(dest / name, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    for aid, files in generate(ids or assignment_ids()).items():
        for rel, text in files.items():
            target = dest / "notebooks" / aid / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    shutil.copytree(ROOT / "nnopt_helpers", dest / "nnopt_helpers",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))
    (dest / "autograder").mkdir()
    (dest / "autograder" / "__init__.py").write_text(_INIT)
    for name in ANSWER_FREE:
        shutil.copyfile(ROOT / "autograder" / name, dest / "autograder" / name)
    for name in EDITION_FILES:
        shutil.copyfile(TEMPLATES / name, dest / name)
    for name in LEARNER_DOCS:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, dest / name)
    requirements, version = _requirements()
    (dest / "pyproject.toml").write_text(_PYPROJECT.format(
        version=version, dependencies="\n".join(f'    "{r}",' for r in requirements)))
    (dest / "environment.yml").write_text(_environment_yml(requirements))
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py release", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, metavar="DIR")
    parser.add_argument("--force", action="store_true", help="replace the edition files of a non-empty DIR")
    args = parser.parse_args(argv)
    try:
        out = release(args.dest, force=args.force)
    except FileExistsError as exc:
        print(f"run.py release: {exc}", file=sys.stderr)
        return 2
    print(f"learner edition written to {out}: give learners this folder (`python3 run.py lab` there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
