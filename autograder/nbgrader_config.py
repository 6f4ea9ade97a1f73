"""nbgrader configuration of the nnopt course (loaded by the root ``nbgrader_config.py``).

The course root is the repository: ``solutions/`` is nbgrader's source directory and
``notebooks/`` its release directory, so ``nbgrader generate_assignment`` writes the student
notebooks exactly where learners open them.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "nnopt"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.root = os.environ.get("NNOPT_COURSE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Only notebooks are assignment files; nothing else from solutions/ ships to learners.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Hidden-test logic lives in autograder/assignments/*.py; the cells only call it.
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120

# Plain `nbgrader generate_feedback` would show the hidden tests (and tracebacks quoting them);
# strip them as nnopt-grade's own feedback does.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.grading.nbgrader_hooks.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
