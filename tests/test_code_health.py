"""Code health of the course's packages: complexity, declared dependencies, no dangling references.

- no function in ``autograder/`` or ``nnopt_helpers/`` is more complex than ``MAX_COMPLEXITY``
  (radon's cyclomatic complexity, measured with its Python API);
- every third-party module they import is declared in ``pyproject.toml``'s dependencies;
- layers read top-down: no module uses another module's private (``_``-prefixed) names, and the
  modules' top-level imports form no cycle;
- no ``.py``, ``.ipynb`` or ``.md`` file refers to the planning document that is not in this
  repository (the conventions live in ``docs/conventions.md``).
"""

from __future__ import annotations

import ast
import os
import re
import sys
import tomllib
from pathlib import Path

from radon.complexity import add_inner_blocks, cc_visit
from radon.visitors import Function

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograder", "nnopt_helpers")

#: Highest cyclomatic complexity (radon, per function or method) allowed: the top of radon's rank C.
MAX_COMPLEXITY = 20

#: Import names whose distribution on PyPI has another name (the longest dotted prefix wins).
DISTRIBUTION_OF = {
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "IPython": "ipython",
    "yaml": "pyyaml",
    "dateutil": "python-dateutil",
    "dask.distributed": "distributed",
}

#: Imported by the packages but not declared in pyproject.toml yet; each arrives today only as a
#: dependency of a declared package (in parentheses). Declare them and empty this set.

#: Directories never searched for files (environments, caches, version control).
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".hypothesis",
             ".ipynb_checkpoints", "build", "dist"}


def _package_files():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ----------------------------------------------------------------------------------------------
# (a) complexity


def _complex_functions(limit: int) -> list[str]:
    """``path:function (complexity)`` for every function or method above ``limit``, worst first."""
    found = []
    for path in _package_files():
        for block in add_inner_blocks(cc_visit(path.read_text(encoding="utf-8"))):
            if isinstance(block, Function) and block.complexity > limit:
                found.append((block.complexity, f"{path.relative_to(ROOT)}:{block.fullname} ({block.complexity})"))
    return [text for _, text in sorted(found, key=lambda item: (-item[0], item[1]))]


def test_radon_measures_complexity_as_expected():
    """The measure itself: one branch per if/elif/for/boolean operator, plus one."""
    source = (
        "def f(x):\n"
        "    if x and x > 1:\n"
        "        return 1\n"
        "    elif x:\n"
        "        return 2\n"
        "    for _ in range(3):\n"
        "        pass\n"
        "    return 0\n"
    )
    (block,) = [b for b in cc_visit(source) if isinstance(b, Function)]
    assert block.complexity == 5


def test_no_function_is_too_complex():
    too_complex = _complex_functions(MAX_COMPLEXITY)
    assert not too_complex, (
        f"cyclomatic complexity above {MAX_COMPLEXITY} (radon cc): split these functions:\n  "
        + "\n  ".join(too_complex)
    )


# ----------------------------------------------------------------------------------------------
# (b) dependencies


def _imported_modules() -> dict[str, set[str]]:
    """Absolute imports of the packages: dotted module name -> files that import it."""
    modules: dict[str, set[str]] = {}
    for path in _package_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                modules.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return modules


def _distribution(module: str) -> str | None:
    """The distribution that provides ``module``, or None for the standard library and our own code."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in PACKAGES or top == "__future__":
        return None
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in DISTRIBUTION_OF:
            return _normalize(DISTRIBUTION_OF[prefix])
    return _normalize(top)


def _declared() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in meta["dependencies"]:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match, f"cannot parse the requirement {requirement!r}"
        names.add(_normalize(match.group(1)))
    return names


def _undeclared() -> dict[str, set[str]]:
    """Distribution -> importing files, for every third-party import not in the dependencies."""
    declared, missing = _declared(), {}
    for module, files in _imported_modules().items():
        dist = _distribution(module)
        if dist is not None and dist not in declared:
            missing.setdefault(dist, set()).update(files)
    return missing


def test_import_names_map_to_distributions():
    assert _distribution("sklearn.datasets") == "scikit-learn"
    assert _distribution("dask.distributed") == "distributed"
    assert _distribution("dask") == "dask"
    assert _distribution("bleach.css_sanitizer") == "bleach"
    assert _distribution("PIL.Image") == "pillow"
    assert _distribution("json") is None
    assert _distribution("nnopt_helpers.nets") is None


def test_every_third_party_import_is_declared():
    missing = _undeclared()
    assert not missing, "imported but not declared in pyproject.toml's dependencies: " + "; ".join(
        f"{dist} (imported by {', '.join(sorted(files))})" for dist, files in sorted(missing.items())
    )


# ----------------------------------------------------------------------------------------------
# (c) layers


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in _package_files()}


def _imported(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from ... import`` reads from."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_uses(module: str, path: Path, modules: dict) -> list[str]:
    """Private names of the packages' modules that ``module`` imports or reads as attributes."""
    tree, uses, aliases = ast.parse(path.read_text(encoding="utf-8")), [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _imported(module, path, node)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in modules:  # a module imported by name: its attributes are checked below
                    aliases[alias.asname or alias.name] = target
                elif source in modules and source != module and _private(alias.name):
                    uses.append(f"{module}:{node.lineno} imports {source}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and aliases[node.value.id] != module and _private(node.attr):
            uses.append(f"{module}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}")
    return uses


def test_no_module_uses_another_modules_private_names():
    modules = _modules()
    uses = [u for m, p in modules.items() for u in _private_uses(m, p, modules)]
    assert uses == [], "make these public (no leading underscore) or keep them in their module:\n" + "\n".join(uses)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the packages' modules it imports at import time (top level; function-local imports,
    which defer on purpose, do not count)."""
    modules, graph = _modules(), {}
    for module, path in modules.items():
        deps = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                source = _imported(module, path, node)
                deps |= {f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[module] = {d for d in deps if d in modules and d != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state, cycles = {}, []

    def visit(u, stack):
        state[u] = "open"
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == "open":
                cycles.append(stack[stack.index(v):] + [v])
            elif v not in state:
                visit(v, stack)
        stack.pop()
        state[u] = "done"

    for u in sorted(graph):
        if u not in state:
            visit(u, [])
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_top_level_imports_form_no_cycle():
    cycles = _cycles(_import_graph())
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


# ----------------------------------------------------------------------------------------------
# (d) references


def _repository_files(suffixes):
    for directory, subdirs, files in os.walk(ROOT):
        subdirs[:] = [d for d in subdirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            if name.endswith(suffixes):
                yield Path(directory) / name


def test_nothing_refers_to_the_planning_document():
    planning_document = "COURSE" + ".md"  # spelled in two parts so that this file does not match itself
    citing = []
    for path in _repository_files((".py", ".ipynb", ".md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if planning_document in text:
            lines = [str(i) for i, line in enumerate(text.splitlines(), 1) if planning_document in line]
            citing.append(f"{path.relative_to(ROOT)}:{','.join(lines)}")
    assert not citing, (
        f"{planning_document} is not in this repository; cite docs/conventions.md (or README.md) instead: "
        + "; ".join(sorted(citing))
    )


def test_the_conventions_page_exists_and_is_linked():
    assert (ROOT / "docs" / "conventions.md").is_file()
    assert "(docs/conventions.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
