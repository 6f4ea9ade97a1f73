"""The instructor side of nnopt: hidden-test modules, references, and the grading pipeline."""
