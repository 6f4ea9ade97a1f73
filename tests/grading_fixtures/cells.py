"""Cells and their metadata edited, deleted, duplicated, renamed or reordered, and notebook files
that are not what they should be (empty, binary, JSON but not a notebook, two notebooks, huge,
too big, a foreign kernel, a bad timestamp).

Locked and test cells always come back from the master by ``grade_id``; solution cells keep the
student's code under the master's metadata. The verifier re-runs the solution cells and the student's
own cells that only define things (so a right function in a copied cell still counts, and so does a
wrong one), in notebook order: the last definition wins, as in the kernel.
"""

from __future__ import annotations

import base64
import copy
import json

import nbformat

from . import (FULL, NOTEBOOK, WRONG_SGD, ZERO, Fixture, _find, but, duplicate_cell, edit_metadata, kernelspec, raw,
               replace_source, slim)


def rename_grade_id(grade_id: str, new: str):
    def apply(nb):
        nb.cells[_find(nb, grade_id)].metadata["nbgrader"]["grade_id"] = new

    return apply


def to_markdown(grade_id: str):
    """Turn a (solution) cell into a markdown cell, keeping its source and metadata."""

    def apply(nb):
        i = _find(nb, grade_id)
        old = nb.cells[i]
        nb.cells[i] = nbformat.v4.new_markdown_cell(old.source, metadata=copy.deepcopy(old.metadata))

    return apply


def move_before(grade_id: str, before: str):
    """Move cell ``grade_id`` right before cell ``before``."""

    def apply(nb):
        cell = nb.cells.pop(_find(nb, grade_id))
        nb.cells.insert(_find(nb, before), cell)

    return apply


def duplicate_with_copy_edit(grade_id: str, original_edit):
    """Duplicate a cell, then apply ``original_edit`` to the first copy only (the one nbgrader grades)."""

    def apply(nb):
        i = _find(nb, grade_id)
        dup = copy.deepcopy(nb.cells[i])
        dup["id"] = (dup.get("id") or "c") + "-2"
        original_edit(nb)
        nb.cells.insert(i + 1, dup)

    return apply


def _edit_second(grade_id: str, cell_edit):
    """Apply ``cell_edit`` (written for the first cell with ``grade_id``) to the second one instead."""

    def apply(nb):
        first = _find(nb, grade_id)
        nbgrader = nb.cells[first].metadata.pop("nbgrader")
        try:
            cell_edit(nb)
        finally:
            nb.cells[first].metadata["nbgrader"] = nbgrader

    return apply


def same_cell_ids(nb):
    for cell in nb.cells:
        cell["id"] = "same"


def no_kernelspec(nb):
    nb.metadata.pop("kernelspec", None)
    nb.metadata.pop("language_info", None)


def _with_timestamp(build, timestamp: bytes):
    return lambda cn: {**build(cn), "timestamp.txt": timestamp}


def _two_notebooks(cn):
    files = slim()(cn)
    files["03_momentum-Copy1.ipynb"] = nbformat.writes(cn.student).encode()
    files["scratch.ipynb"] = b"{not even json"
    return files


def _huge_notebook(cn) -> dict:
    """~50 MB: big saved outputs in a test cell and an ordinary cell (dropped: outputs are recomputed), and a
    10 MB image attached to a markdown cell of the student's own (kept)."""
    nb = copy.deepcopy(cn.slim)
    blob = base64.b64encode(bytes(range(256)) * (80_000)).decode()  # ~27 MB of base64
    test = nb.cells[_find(nb, "test_sgd_momentum")]
    test.outputs = [nbformat.v4.new_output("display_data", data={"image/png": blob[: 12 << 20]})]
    nb.cells.append(nbformat.v4.new_code_cell("print('done')", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="x" * (12 << 20))]))
    note = nbformat.v4.new_markdown_cell("My notes: ![photo](attachment:photo.png)")
    note["attachments"] = {"photo.png": {"image/png": blob[: 10 << 20]}}
    nb.cells.append(note)
    text = nbformat.writes(nb)
    # pad with a long saved output to reach ~50 MB
    nb.cells[-2].outputs[0]["text"] += "y" * max(0, (50 << 20) - len(text))
    return {NOTEBOOK: nbformat.writes(nb).encode()}


def _oversized_notebook(cn) -> dict:
    nb = copy.deepcopy(cn.slim)
    nb.cells.append(nbformat.v4.new_code_cell("pass", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="z" * (65 << 20))]))
    return {NOTEBOOK: nbformat.writes(nb).encode()}


def _pathological_markdown(nb):
    """A markdown cell of the student's own that nbconvert's markdown parser takes quadratic time on:
    about 3 minutes for these 160 kB, hours for a megabyte."""
    nb.cells.append(nbformat.v4.new_markdown_cell("[" * 80_000 + "x" + "]" * 80_000))


def _json_not_notebook(cn) -> dict:
    return {NOTEBOOK: json.dumps({"cells": "none", "metadata": 5, "nbformat": "four"}).encode()}


FIXTURES = [
    # test and locked cells: restored, whatever was done to them
    Fixture("test-cell-ungraded", slim(WRONG_SGD, edit_metadata("test_sgd_momentum", grade=False, points=0)),
            status="missing-cells-restored", scores=but(sgd_momentum=0),
            description="`grade: false` (0 points) on the test cell of a wrong function",
            note="'test_sgd_momentum' had been edited and was restored"),
    Fixture("test-cell-edited",
            slim(WRONG_SGD, replace_source("test_sgd_momentum", "print('sgd_momentum: all tests passed')")),
            status="missing-cells-restored", scores=but(sgd_momentum=0),
            description="the test cell of a wrong function replaced by a print"),
    Fixture("test-grade-id-renamed", slim(rename_grade_id("test_nesterov_momentum", "my_test")),
            status="missing-cells-restored", scores=FULL,
            description="a test cell's grade_id changed: it becomes an ordinary cell, the real one is put back"),
    Fixture("locked-markdown-edited", slim(replace_source("md_ex1", "### Exercise 1 (400 points)")),
            status="missing-cells-restored", scores=FULL, description="the exercise's text edited"),
    # solution cells: the first copy is the solution (the master's metadata, the student's code); later copies
    # and renamed ones are the student's own cells, which the verifier re-runs too when they only define things
    Fixture("solution-grade-id-renamed", slim(rename_grade_id("sgd_momentum", "my_sgd")),
            status="missing-cells-restored", scores=FULL,
            description="a solution cell's grade_id changed: the stub is put back before it, and the renamed "
                        "cell (definitions only, the learner's own) is re-run after it by the verifier too"),
    Fixture("solution-to-markdown", slim(to_markdown("sgd_momentum")),
            status="missing-cells-restored", scores=FULL,
            description="a solution cell turned into markdown: back to code, graded on its merits"),
    Fixture("solution-duplicated", slim(duplicate_cell("nesterov_momentum")),
            status="missing-cells-restored", scores=FULL, description="a correct solution cell pasted twice"),
    Fixture("solution-overridden-by-copy", slim(duplicate_with_copy_edit("sgd_momentum", WRONG_SGD)),
            status="missing-cells-restored", scores=FULL,
            description="a wrong solution cell followed by a right copy: the copy (definitions only) is the "
                        "learner's last word, in the kernel and in the verifier alike"),
    Fixture("solution-spoiled-by-copy", slim(duplicate_cell("sgd_momentum"), _edit_second("sgd_momentum", WRONG_SGD)),
            status="missing-cells-restored", scores=but(sgd_momentum=0),
            description="a right solution cell followed by a wrong copy: the last definition counts, in both",
            note="a duplicate of solution cell 'sgd_momentum' was kept as an ordinary cell"),
    Fixture("cells-reordered", slim(move_before("momentum_optimal_params", "md_ex1"),
                                    move_before("test_momentum_optimal_params", "md_ex1"),
                                    move_before("test_nesterov_momentum", "nesterov_momentum")),
            status="graded", scores=FULL, description="tests before their solutions, the last exercise first"),
    Fixture("same-cell-ids", slim(same_cell_ids), status="graded", scores=FULL,
            description="every cell has the same id (invalid nbformat): fresh ids are given"),
    # notebook files
    Fixture("empty-file", raw({NOTEBOOK: b""}), status="malformed", scores=ZERO),
    Fixture("binary-file", raw({NOTEBOOK: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64}), status="malformed",
            scores=ZERO),
    Fixture("json-not-notebook", _json_not_notebook, status="malformed", scores=ZERO,
            description="valid JSON, not a notebook"),
    Fixture("two-notebooks", _two_notebooks, status="graded", scores=FULL,
            description="the notebook, an untouched copy of the released one, and a broken scratch.ipynb"),
    Fixture("huge-notebook", _huge_notebook, status="graded", scores=FULL,
            description="a 50 MB notebook: saved outputs (dropped) and a 10 MB image attachment (kept)"),
    Fixture("oversized-notebook", _oversized_notebook, status="malformed", scores=ZERO,
            description="a 65 MB notebook: refused before it is parsed", note="larger than the 64 MiB allowed"),
    Fixture("pathological-markdown", slim(_pathological_markdown), status="graded", scores=FULL,
            description="a markdown cell that takes nbconvert's renderer minutes (hours when larger): "
                        "cut to 8 kB in the feedback, so it renders in about a second in any thread"),
    Fixture("kernelspec-nonexistent", slim(kernelspec("no-such-kernel", "Nope")), status="graded", scores=FULL),
    Fixture("kernelspec-missing", slim(no_kernelspec), status="graded", scores=FULL),
    Fixture("bad-timestamp", _with_timestamp(slim(), b"\xff\xfe whenever I like \x00"),
            status="graded", scores=FULL,
            description="timestamp.txt is not a timestamp (nbgrader's parser raised and the whole batch stopped)",
            note="is not a timestamp; ignored"),
]
