"""Links from each asset in the UI to the code that computes it ("Open in editor").

Dagster's ``with_source_code_references`` points at the function the op calls, which for
every asset here is the :func:`~pas_pipeline.defs.observability.observed` wrapper; this
module follows ``__wrapped__`` to the asset's own function instead.
"""

import inspect
from collections.abc import Iterable

import dagster as dg

CODE_REFERENCES_KEY = "dagster/code_references"


def _reference(assets_def: dg.AssetsDefinition) -> dg.CodeReferencesMetadataValue:
    compute = inspect.unwrap(assets_def.op.compute_fn.decorated_fn)
    return dg.CodeReferencesMetadataValue(
        code_references=[
            dg.LocalFileCodeReference(
                file_path=str(inspect.getsourcefile(compute)),
                line_number=inspect.getsourcelines(compute)[1],
            )
        ]
    )


def with_code_references(
    assets: Iterable[dg.AssetsDefinition | dg.AssetSpec],
) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """``assets`` with a local-file code reference (file and first line of the decorated
    function) in the metadata of every asset that has a compute; specs unchanged."""
    linked: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for assets_def in assets:
        if isinstance(assets_def, dg.AssetsDefinition) and assets_def.is_executable:
            metadata = {CODE_REFERENCES_KEY: _reference(assets_def)}
            assets_def = assets_def.map_asset_specs(
                lambda spec, metadata=metadata: spec.merge_attributes(metadata=metadata)
            )
        linked.append(assets_def)
    return linked
