"""pas_pipeline: alternative data to signals, risk, allocation and orders, orchestrated by Dagster.

The pure core (``calendar``, ``sources``, ``strategies``, ``risk``, ``portfolio``,
``execution``) imports no Dagster; the Dagster shell lives in ``pas_pipeline.defs``.
"""

__version__ = "0.1.0"
