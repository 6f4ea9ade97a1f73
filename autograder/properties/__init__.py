"""Properties of results that are not one exact value: random initializers, noisy paths, sets.

An exercise judged this way sets ``Exercise(properties=fn)`` (``fn(case, actual) -> problems``).
Those functions live here, one module per assignment, because they run in two places: in the
grader's process (the verifier's authoritative judgement) and, copied into the sandbox's lib dir,
in the kernel's hidden-test cells under ``nnopt-grade``. So a module here must hold no answer: no
reference implementation, no expected value, no mutant; it may import NumPy, ``autograder.plain``
and ``nnopt_helpers``.
"""
