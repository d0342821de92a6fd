"""The served Dagster UI behind ``API_TOKEN``: :mod:`.auth` (the ASGI token gate and login
page, no Dagster) and :mod:`.app` (Dagster's webserver app plus ``/metrics``, ``pas-serve``)."""
