"""Record linkage for the CME register: find the right child, explain why, never merge two children.

The engine is pure (no I/O) and shared by the stream, the enquiry API and ``cmehub link``::

    linker = Linker()                              # the shipped configuration (config/default.yaml)
    index = linker.build_index(register_records)   # PersonRecord dataclasses, e.g. from the database
    decision = linker.link(incoming_record, index) # LinkDecision: match / review / no_match + reason

``index.add(record)`` and ``index.remove(record_id)`` keep the in-memory index in step with the
register; ``training.train`` re-estimates the parameters (``cmehub link train``). The stream worker
that applies decisions to the register lives beside it (``stream.py``, ``pipeline.py``).
"""

from services.matching.blocking import BlockingIndex
from services.matching.config import ConfigError, LinkageConfig, dump_config, load_config
from services.matching.decision import CandidateScore, ComparisonWeight, LinkDecision
from services.matching.engine import Linker
from services.matching.records import Address, PersonRecord, from_child_identity

__all__ = [
    "Address",
    "BlockingIndex",
    "CandidateScore",
    "ComparisonWeight",
    "ConfigError",
    "LinkDecision",
    "LinkageConfig",
    "Linker",
    "PersonRecord",
    "dump_config",
    "from_child_identity",
    "load_config",
]
