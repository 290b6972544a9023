"""Accuracy you can measure (``lookalike eval``).

* :mod:`~lookalike.evaluate.attacks` -- the attack suite (mild / geometric, 3 severities);
* :mod:`~lookalike.evaluate.dataset` -- build and read a benchmark (references, queries,
  ground truth);
* :mod:`~lookalike.evaluate.metrics` -- µAP (DISC21), recall at precision, ROC AUC,
  Spearman;
* :mod:`~lookalike.evaluate.runner` -- score a benchmark per method and for the cascade;
* :mod:`~lookalike.evaluate.report` -- tables, markdown and plots;
* :mod:`~lookalike.evaluate.ratings` -- agreement with human ratings.

Figures and the commands that produce them: docs/accuracy.md.
"""
