"""Independent reference implementations behind the hidden tests (one module per assignment).

Each module gives, for every graded exercise, a function ``case -> plain result`` that returns
exactly what ``autograder.drivers`` would report for a *correct* learner function on that case
(``{"steps": [...], "mutated": []}`` for update rules, ``{"result": ..., "mutated": []}`` for
plain functions). The references are written independently of the solution cells, in the most
straightforward way (explicit loops over elements), so that a shared mistake is unlikely.
They live only on the instructor side: nothing in ``nnopt_helpers`` imports them.
"""
