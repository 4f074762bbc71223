"""spec: pipeline YAML → validated pydantic/dataclass values, with locations."""

from archon.spec._models import BudgetLimits
from archon.spec._models import BudgetSpec
from archon.spec._models import Condition
from archon.spec._models import DatasetSpec
from archon.spec._models import LLMNodeSpec
from archon.spec._models import ModelSpec
from archon.spec._models import NodeSpec
from archon.spec._models import PriceSpec
from archon.spec._nodes import BUILTIN_NODE_TYPES
from archon.spec._nodes import CritiqueSpec
from archon.spec._nodes import FuseSpec
from archon.spec._nodes import GenerateSpec
from archon.spec._nodes import RankSpec
from archon.spec._nodes import UnitTestEvaluateSpec
from archon.spec._nodes import UnitTestGenerateSpec
from archon.spec._nodes import VerifySpec
from archon.spec._nodes import VoteSpec
from archon.spec._parse import PARAM_RE
from archon.spec._parse import Collector
from archon.spec._parse import PipelineSpec
from archon.spec._parse import find_params
from archon.spec._parse import parse_pipeline
from archon.spec._parse import parse_pipeline_file
from archon.spec._parse import read_source
from archon.spec._reference import markdown_reference
from archon.spec._schema import pipeline_json_schema
from archon.spec._yaml import load_yaml
from archon.spec._yaml import locate

__all__ = [
    "BUILTIN_NODE_TYPES",
    "BudgetLimits",
    "BudgetSpec",
    "Collector",
    "Condition",
    "CritiqueSpec",
    "DatasetSpec",
    "FuseSpec",
    "GenerateSpec",
    "LLMNodeSpec",
    "ModelSpec",
    "NodeSpec",
    "PARAM_RE",
    "PipelineSpec",
    "PriceSpec",
    "RankSpec",
    "UnitTestEvaluateSpec",
    "UnitTestGenerateSpec",
    "VerifySpec",
    "VoteSpec",
    "find_params",
    "load_yaml",
    "locate",
    "markdown_reference",
    "parse_pipeline",
    "parse_pipeline_file",
    "pipeline_json_schema",
    "read_source",
]
