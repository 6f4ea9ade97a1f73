"""The status words of a graded submission, and which one a submission reports.

A submission can collect several flags (a restored cell *and* a timeout); ``status`` is the
most important one, ``flags`` keeps them all. ``graded`` means nothing went wrong.
"""

from __future__ import annotations

#: Most important first. Each is also a flag.
PRIORITY = (
    "grader-error",            # the grader itself failed on this submission (a bug: see the notes)
    "bad-student-id",          # graded, but its folder's name cannot be an nbgrader student id: kept out of the course
    "no-notebook",             # the assignment's notebook is not in the submission
    "malformed",               # not valid JSON, or not a valid notebook (rebuilt from its cells when possible)
    "tamper-suspected",        # the in-kernel tests gave more points than the verifier
    "memory",                  # MemoryError, or the sandbox went past its memory limit
    "process-limit",           # too many processes (a fork bomb)
    "disk-limit",              # wrote more than allowed into its scratch directory
    "timeout",                 # a cell, the notebook, or a graded function ran past its time limit
    "kernel-died",             # the kernel or the verifier's process died (os._exit, a crash)
    "missing-cells-restored",  # test/locked cells were missing, duplicated or edited and were restored
    "output-truncated",        # output beyond the caps was dropped
    "unsandboxed",             # graded with --allow-unsandboxed, without bwrap
)
STATUSES = PRIORITY + ("graded",)


def choose_status(flags) -> str:
    """The most important flag, or ``graded``."""
    flags = set(flags)
    for status in PRIORITY:
        if status in flags:
            return status
    return "graded"
