"""JSON Schema of the pipeline file, generated from the pydantic models (for editors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archon.spec._models import BudgetSpec
from archon.spec._models import DatasetSpec
from archon.spec._models import ModelSpec
from archon.spec._models import NodeSpec


def pipeline_json_schema(node_types: Mapping[str, type[NodeSpec]] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a pipeline file.

    Example:
        >>> schema = pipeline_json_schema()
        >>> sorted(schema["properties"])[:3]
        ['budget', 'dataset', 'description']
    """
    if node_types is None:
        from archon.spec._nodes import BUILTIN_NODE_TYPES

        node_types = BUILTIN_NODE_TYPES
    defs: dict[str, Any] = {}

    def ref(model: type[Any], name: str) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[name] = schema
        return {"$ref": f"#/$defs/{name}"}

    node_refs = [ref(cls, cls.__name__) for _, cls in sorted(node_types.items())]
    node = {"oneOf": node_refs, "description": "a node: op selects the operator"}
    layer_entry = {"oneOf": [{**r} for r in node_refs]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "archon pipeline",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "models": {
                "type": "object",
                "additionalProperties": {"anyOf": [ref(ModelSpec, "ModelSpec"), {"type": "string"}]},
            },
            "nodes": {"type": "object", "additionalProperties": node},
            "layers": {
                "type": "array",
                "items": {"type": "array", "items": layer_entry},
                "description": "Archon-style layers: each layer's nodes take the previous layer's outputs",
            },
            "output": {"type": "string", "description": "the node whose first candidate is the answer"},
            "budget": ref(BudgetSpec, "BudgetSpec"),
            "dataset": ref(DatasetSpec, "DatasetSpec"),
            "metric": {
                "type": "string",
                "description": "exact, normalized, numeric, math, contains, regex, tests or module:function",
            },
        },
        "$defs": defs,
    }
