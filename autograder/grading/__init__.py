"""Grading a class: the coordinator, the per-submission worker, and the notebook surgery they share.

``options`` (the run's options and their defaults), ``records`` (the job and the result, typed),
``coordinator`` (finds the submissions, farms them out, writes the course), ``worker`` (grades one
submission in named steps), ``notebooks`` (notebook surgery), ``sanitize``, ``status``.
"""
