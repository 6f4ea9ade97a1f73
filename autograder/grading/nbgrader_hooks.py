"""nbgrader preprocessors the course configuration plugs in (see ``autograder/nbgrader_config.py``).

``HideHiddenTests`` makes plain ``nbgrader generate_feedback`` safe: without it, nbgrader's
feedback HTML shows every test cell's full source, hidden tests included, and tracebacks that
quote them. It applies the same cleaning as ``nnopt-grade``'s own feedback.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from . import notebooks as nbs


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test regions from every cell and shorten tracebacks of locked cells."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess(self, nb, resources):
        cleaned = nbs.feedback_notebook(nb, None, None, self.begin_test_delimeter, self.end_test_delimeter)
        for cell, clean in zip(nb.cells, cleaned.cells):
            cell.source = clean.source
            if cell.cell_type == "code":
                cell.outputs = clean.outputs
        return nb, resources
