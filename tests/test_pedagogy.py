"""The notebooks teach rather than transcribe (issue 8): every source notebook asks the learner
to predict before some experiments, offers progressive hints before each graded function, and
its solution cells' docstrings state the contract (what, shapes, config keys, defaults, what is
returned, what must not change) and not the formula the learner is asked to write.

What counts as a formula in a docstring (``FORMULA_LINE``): a display equation (``$$``), or a
line holding an assignment-like statement, ``name = expression`` or ``name ← expression``
(``name`` an identifier, optionally subscripted or between backticks), whose right-hand side
does arithmetic: a binary operator between spaces (`` + ``, `` - ``, `` * ``, `` / ``), a
power (``**``, ``^``) or a call of a maths function (``sqrt``, ``exp``, ``log``, ``cos``,
``sin``, ``sum``, ``mean``, ``var``). Keyword defaults (``h=1e-4``, ``config=None``),
comparisons (``==``, ``<=``, ``>=``, ``!=``), hyphenated words (``look-ahead``) and shapes such
as ``(num_steps + 1, d)`` (no ``=``) are not formulas.
"""

from __future__ import annotations

import ast
import re

import pytest

import assignment_harness as h
from autograder.assignments import ids

IDS = ids()

PREDICT = "**Predict.**"
PREDICTION_ASSIGNMENT = re.compile(r"^\s*my_prediction\s*=", re.MULTILINE)
MATH_CALL = r"(?:sqrt|exp|log|cos|sin|sum|mean|var)\s*\("
FORMULA_LINE = re.compile(
    r"`*[A-Za-z_]\w*(?:\[[^\]]*\])?`*\s*(?:(?<![=<>!])=(?!=)|←|<-)\s*"  # name = / name ←
    r"(?P<rhs>.*(?:\s[-+*/]\s|\*\*|\^|" + MATH_CALL + r").*)"  # ... arithmetic on the right
)


def _is_formula(line: str) -> bool:
    return "$$" in line or FORMULA_LINE.search(line) is not None


def _predict_cells(cells):
    return [i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.lstrip().startswith(PREDICT)]


@pytest.mark.parametrize("aid", IDS)
def test_pedagogy_predict_then_run(aid):
    cells = h.source_notebook(aid).cells
    prompts = _predict_cells(cells)
    assert len(prompts) >= 2, f"{aid}: {len(prompts)} '{PREDICT}' cells, at least 2 expected"
    for i in prompts:
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        assert nxt is not None and nxt.cell_type == "code", f"{aid}: cell {i + 1} should be the prediction's code cell"
        assert PREDICTION_ASSIGNMENT.search(nxt.source), f"{aid}: cell {i + 1} should assign my_prediction"
        assert not h.nbgrader(nxt), f"{aid}: the prediction cell is a plain, ungraded cell"
        # plain Python that runs as is
        compile(nxt.source, f"{aid}[{i + 1}]", "exec")


@pytest.mark.parametrize("aid", IDS)
def test_pedagogy_progressive_hints_before_each_graded_function(aid):
    cells = h.source_notebook(aid).cells
    previous = -1  # index of the previous solution or test cell
    solutions = 0
    for i, cell in enumerate(cells):
        meta = h.nbgrader(cell)
        if meta.get("solution") and cell.cell_type == "code":
            solutions += 1
            between = "\n".join(c.source for c in cells[previous + 1 : i] if c.cell_type == "markdown")
            name = meta.get("grade_id")
            assert "<details>" in between and "</details>" in between, f"{aid}: no <details> hint before {name}"
            assert between.count("<summary>") >= 2, f"{aid}: fewer than two hint levels before {name}"
            first, second = re.findall(r"<summary>(.*?)</summary>", between)[:2]
            assert first.startswith("Hint 1") and second.startswith("Hint 2"), (aid, name, first, second)
        if meta.get("solution") or meta.get("grade"):
            previous = i
    assert solutions, aid


@pytest.mark.parametrize("aid", IDS)
def test_pedagogy_docstrings_state_the_contract_not_the_formula(aid):
    offending = []
    for cell in h.source_notebook(aid).cells:
        if not (h.nbgrader(cell).get("solution") and cell.cell_type == "code"):
            continue
        for node in ast.parse(cell.source).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            doc = ast.get_docstring(node) or ""
            offending += [f"{node.name}: {line.strip()}" for line in doc.splitlines() if _is_formula(line)]
    assert not offending, f"{aid}: docstring lines that print the formula:\n" + "\n".join(offending)


@pytest.mark.parametrize(
    ("line", "formula"),
    [
        ("next_w: new array: ``w + v`` with ``v = momentum * v - learning_rate * dw``", True),
        ("learning_rate = (2 / (sqrt(lambda_min) + sqrt(lambda_max)))**2", True),
        ("$$x = 1$$", True),
        ("rate = (sqrt(kappa) - 1) / (sqrt(kappa) + 1), with kappa = lambda_max / lambda_min", True),
        ("G ← G + g**2", True),
        ("config: dict of hyperparameters and state, or None; default ``config=None``", False),
        ("h: float, the step (default h=1e-4)", False),
        ("path: array of shape (num_steps + 1, d), the first row is x0", False),
        ("the look-ahead form (Bengio et al. 2012)", False),
        ("- ``learning_rate``: float, default 1e-2", False),
        ("x == y when tol <= 0", False),
    ],
)
def test_pedagogy_formula_rule(line, formula):
    assert _is_formula(line) is formula


@pytest.mark.parametrize("aid", IDS)
def test_pedagogy_written_questions_with_a_rubric(aid):
    """At least two written answers a person grades (nbgrader's manually graded answer cells), each
    right after a question cell that states its points and how it is graded; the model answer is a
    solution region, so the student version reads nbgrader's "YOUR ANSWER HERE"."""
    import nbformat

    cells = h.source_notebook(aid).cells
    answers = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and h.nbgrader(c).get("grade")]
    assert len(answers) >= 2, f"{aid}: {len(answers)} written answers, at least 2 expected"
    for i in answers:
        meta, question = h.nbgrader(cells[i]), cells[i - 1].source
        assert meta.get("solution") and not meta.get("locked") and meta["grade_id"].startswith("written_"), meta
        assert question.startswith(f"### Question (written, {meta['points']:g} points)"), (aid, question[:80])
        assert "*How it is graded:*" in question and question.count("1 point for") >= 2, (aid, meta["grade_id"])
        assert "### BEGIN SOLUTION" in cells[i].source and "**Model answer.**" in cells[i].source
    student = nbformat.read(h.ROOT / "notebooks" / aid / f"{aid}.ipynb", as_version=4)
    ids_ = {h.nbgrader(cells[i])["grade_id"] for i in answers}
    released = [c.source for c in student.cells if h.nbgrader(c).get("grade_id") in ids_]
    assert released == ["YOUR ANSWER HERE"] * len(answers), (aid, released)


@pytest.mark.parametrize("aid", IDS)
def test_pedagogy_a_number_to_derive_before_the_experiment(aid):
    """At least one autograded number the learner derives (driver ``value``), asked for in an exercise
    heading that says "derive", before the code that measures it."""
    values = [name for name in h.exercises(aid) if h.is_value(aid, name)]
    assert values, f"{aid}: no derived number"
    cells = h.source_notebook(aid).cells
    for name in values:
        (solution,) = [i for i, c in enumerate(cells) if h.nbgrader(c).get("grade_id") == name]
        heading = [c.source for c in cells[:solution] if c.cell_type == "markdown" and c.source.startswith("### Exercise")][-1]
        assert "derive" in heading.splitlines()[0] and f"`{name}`" in heading.splitlines()[0], (aid, heading[:100])
        later = "\n".join(c.source for c in cells[solution + 2:] if c.cell_type == "code")
        assert later.strip(), f"{aid}: nothing runs after {name}"


#: Reading speed and the time each kind of task takes, for the duration a notebook's intro states.
WORDS_PER_MINUTE = 200
MINUTES = {"function": 3, "derived number": 2, "written answer": 5, "prediction": 1}


def reading_words(cells) -> int:
    """Words a learner reads: markdown cells without model answers (solution regions) or math."""
    words = 0
    for c in cells:
        if c.cell_type == "markdown":
            text = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", " ", c.source, flags=re.S)
            words += len(re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", text, flags=re.S).split())
    return words


@pytest.mark.parametrize("aid", IDS)
def test_pedagogy_the_stated_duration_can_be_met(aid):
    """The intro's "About N minutes" covers reading at 200 words a minute plus the tasks (3 minutes
    per graded function, 2 per derived number, 5 per written answer, 1 per prediction), within 10%,
    and is not padded beyond 1.6 times that."""
    cells = h.source_notebook(aid).cells
    stated = re.search(r"About (\d+) minutes", cells[0].source)
    assert stated, f"{aid}: the intro states no duration ('About N minutes')"
    names = h.exercises(aid)
    values = sum(h.is_value(aid, n) for n in names)
    tasks = {"function": len(names) - values, "derived number": values,
             "written answer": len(h.written_answers(aid)), "prediction": len(_predict_cells(cells))}
    needed = reading_words(cells) / WORDS_PER_MINUTE + sum(MINUTES[k] * n for k, n in tasks.items())
    minutes = int(stated.group(1))
    assert 0.9 * needed <= minutes <= 1.6 * needed, (
        f"{aid}: states {minutes} minutes; {reading_words(cells)} words and {tasks} need about {needed:.0f}")
