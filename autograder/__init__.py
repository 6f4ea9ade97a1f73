"""The instructor side of nnopt: hidden-test modules, references, and the grading pipeline."""

import sys as _sys

# jsonschema (which nbformat imports) imports the optional ``rfc3987_syntax`` when it is installed
# (jupyter-events installs it), and that module compiles 39 lark grammars on import: about 1 s in
# every process that reads a notebook. It only checks the ``iri`` formats, which no notebook schema
# uses: it is refused here, before anything imports jsonschema (bench/bench_grading.py measures
# the start-up this saves).
_sys.modules.setdefault("rfc3987_syntax", None)
