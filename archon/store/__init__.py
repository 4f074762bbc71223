"""store: the SQLAlchemy database (call cache, runs, items)."""

from archon.store._schema import CALLS_SQLITE_DDL
from archon.store._schema import CallRecord
from archon.store._schema import ItemRecord
from archon.store._schema import ModelRankRecord
from archon.store._schema import RunRecord
from archon.store._schema import ScoreRecord
from archon.store._schema import SearchCallRecord
from archon.store._schema import SearchClaimRecord
from archon.store._schema import SearchSpendRecord
from archon.store._store import Store
from archon.store._store import call_tag
from archon.store._store import default_db_url
from archon.store._store import resolve_db_url
from archon.store._store import utc_now

__all__ = [
    "CALLS_SQLITE_DDL",
    "CallRecord",
    "ItemRecord",
    "ModelRankRecord",
    "RunRecord",
    "ScoreRecord",
    "SearchCallRecord",
    "SearchClaimRecord",
    "SearchSpendRecord",
    "Store",
    "call_tag",
    "default_db_url",
    "resolve_db_url",
    "utc_now",
]
