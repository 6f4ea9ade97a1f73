"""Grading a class: the coordinator, the per-submission worker, and the notebook surgery they share."""
