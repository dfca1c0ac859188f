"""The linkage engine: identifiers first, then Fellegi–Sunter scoring, then a decision.

Pure: no I/O. The stream, the enquiry API and the batch command share it. Build a
:class:`BlockingIndex` from register records once, then call :meth:`Linker.link` per record.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from services.matching.blocking import BlockingIndex
from services.matching.comparisons import CompiledComparison
from services.matching.config import LinkageConfig, load_config
from services.matching.decision import CandidateScore, ComparisonWeight, LinkDecision, describe
from services.matching.features import Prepared
from services.matching.names import NameTables, default_tables
from services.matching.records import PersonRecord

_IDENTIFIERS = ("nhs_number", "upn")


def probability(weight_bits: float) -> float:
    """Match probability from a match weight in bits (log2 odds)."""
    if weight_bits > 60:
        return 1.0
    return 1.0 / (1.0 + 2.0 ** (-weight_bits))


class Linker:
    """Scores records against a register index and decides match, review or no match."""

    def __init__(self, config: LinkageConfig | None = None, tables: NameTables | None = None) -> None:
        self.config = config or load_config()
        self.tables = tables or default_tables()
        self.comparisons = [CompiledComparison(c) for c in self.config.comparisons]
        self._kinds = [[level.kind for level in c.levels] for c in self.config.comparisons]
        self._never = [frozenset(self.config.never_match_levels.get(c.name, ())) for c in self.config.comparisons]
        self._unless = [frozenset(self.config.never_match_unless.get(c.name, ())) for c in self.config.comparisons]
        self._given = self._index_of("given_name")
        self._dob = self._index_of("date_of_birth")
        self._sex = self._index_of("sex")
        self._id_columns = [i for i, c in enumerate(self.config.comparisons) if c.kind in _IDENTIFIERS]
        self._id_exact = [
            frozenset(j for j, level in enumerate(c.levels) if level.kind == "exact_valid")
            for c in self.config.comparisons
        ]

    def _index_of(self, kind: str) -> int | None:
        for i, c in enumerate(self.config.comparisons):
            if c.kind == kind:
                return i
        return None

    def build_index(self, records: Iterable[PersonRecord]) -> BlockingIndex:
        """An in-memory index of the register, ready for lookups."""
        index = BlockingIndex(self.config, self.tables)
        for record in records:
            index.add(record)
        return index

    def prepare(self, record: PersonRecord) -> Prepared:
        """Normalise a record once (reuse it across many comparisons)."""
        return Prepared(record, self.tables)

    def prior_bits(self, index: BlockingIndex) -> float:
        """Log2 prior odds that a record matches one given register entry (auto: 1 / register size)."""
        prior = self.config.prior if self.config.prior is not None else 1.0 / max(len(index), 2)
        return math.log2(prior / (1.0 - prior))

    def levels(self, a: Prepared, b: Prepared) -> list[int]:
        """The comparison vector of a pair: one level index per comparison (-1 = missing)."""
        return [c.classify(a, b) for c in self.comparisons]

    def _weigh(self, a: Prepared, b: Prepared, index: BlockingIndex, prior_bits: float) -> tuple[float, list[int]]:
        total = prior_bits
        levels = []
        for comparison in self.comparisons:
            level = comparison.classify(a, b)
            levels.append(level)
            if level >= 0:
                total += self._weight(comparison, level, b, index)
        return total, levels

    def _weight(self, comparison: CompiledComparison, level: int, b: Prepared, index: BlockingIndex) -> float:
        if level in comparison.tf_levels and comparison.tf_field:
            # Term frequency: agreeing on a common name is weaker evidence than on a rare one.
            u = max(index.frequency(comparison.tf_field, getattr(b, comparison.tf_field)), self.config.tf_minimum_u)
            return math.log2(comparison.spec.levels[level].m / u)
        return comparison.weights[level]

    def score(self, a: Prepared, b: Prepared, index: BlockingIndex, prior_bits: float) -> CandidateScore:
        """Weigh the evidence that ``a`` (incoming) and ``b`` (register) are the same child."""
        total, levels = self._weigh(a, b, index, prior_bits)
        return self._explain(b, total, levels, index)

    def _explain(self, b: Prepared, total: float, levels: list[int], index: BlockingIndex) -> CandidateScore:
        parts = []
        kinds_hit: list[str | None] = []
        id_agree = id_conflict = lifted = False
        cap: str | None = None
        for i, comparison in enumerate(self.comparisons):
            level = levels[i]
            if level < 0:
                kinds_hit.append(None)
                parts.append(ComparisonWeight(comparison.name, "missing", 0.0))
                continue
            kind = self._kinds[i][level]
            kinds_hit.append(kind)
            weight = self._weight(comparison, level, b, index)
            parts.append(ComparisonWeight(comparison.name, comparison.labels[level], round(weight, 3)))
            if comparison.spec.kind in _IDENTIFIERS:
                id_agree |= kind == "exact_valid"
                id_conflict |= kind == "conflict"
            if kind in self._never[i] and cap is None:
                cap = f"{comparison.name} {comparison.labels[level]}"
            lifted |= kind in self._unless[i]
        if lifted and not id_conflict:
            cap = None
        given = kinds_hit[self._given] if self._given is not None else None
        if (
            cap is None
            and self.config.sex_conflict_needs_exact_given_name
            and self._sex is not None
            and kinds_hit[self._sex] == "else"
            and given not in (None, "exact")
        ):
            cap = "sex differs and given names are not the same"
        dob = kinds_hit[self._dob] if self._dob is not None else None
        contradicts = dob == "else" and given == "else"
        return CandidateScore(
            register_id=b.id,
            match_weight=round(total, 3),
            match_probability=probability(total),
            comparisons=tuple(parts),
            identifier_agrees=id_agree,
            identifier_conflicts=id_conflict,
            cap_reason=cap,
            contradicts=contradicts,
        )

    def candidates(self, record: PersonRecord | Prepared, index: BlockingIndex) -> list[CandidateScore]:
        """Every blocked candidate scored and explained, best first."""
        a = record if isinstance(record, Prepared) else self.prepare(record)
        prior = self.prior_bits(index)
        scored = []
        for position in index.candidates(a):
            b = index.records[position]
            if b is not None:
                scored.append(self.score(a, b, index, prior))
        scored.sort(key=lambda s: (-s.match_weight, s.register_id))
        return scored

    def link(self, record: PersonRecord | Prepared, index: BlockingIndex) -> LinkDecision:
        """Decide whether ``record`` is a child already on the register, and which."""
        a = record if isinstance(record, Prepared) else self.prepare(record)
        prior = self.prior_bits(index)
        weighed = []
        for position in index.candidates(a):
            b = index.records[position]
            if b is not None:
                total, levels = self._weigh(a, b, index, prior)
                weighed.append((-round(total, 3), b.id, b, total, levels))
        weighed.sort(key=lambda item: (item[0], item[1]))
        # Explain only what the decision reads: the two best and any identifier agreement.
        chosen = [
            self._explain(b, total, levels, index)
            for rank, (_, _, b, total, levels) in enumerate(weighed)
            if rank < 2 or any(levels[i] in self._id_exact[i] for i in self._id_columns)
        ]
        return self.decide(a.id, chosen, len(weighed))

    def decide(self, record_id: str, scored: list[CandidateScore], count: int | None = None) -> LinkDecision:
        """Turn scored candidates (best first) into a decision with its reason."""
        t = self.config.thresholds
        total = len(scored) if count is None else count
        if not scored:
            why = "no_match: no candidate shares a blocking key"
            return self._decision(record_id, "no_match", None, "none", why, 0)
        best = scored[0]
        second = scored[1] if total > 1 else None
        by_id = [s for s in scored if s.identifier_agrees]
        if by_id:
            target = by_id[0]
            if len(by_id) > 1:
                why = "review: several register entries share a valid identifier"
                return self._decision(record_id, "review", target, "identifier", why, total, second)
            if target.identifier_conflicts:
                why = "review: one valid identifier agrees and another conflicts"
            elif target.contradicts:
                why = "review: valid identifier agrees but given name and birth date contradict it"
            else:
                why = "match: valid identifier agrees"
                return self._decision(record_id, "match", target, "identifier", why, total, second)
            return self._decision(record_id, "review", target, "identifier", why, total, second)
        p = best.match_probability
        if p >= t.match:
            if best.identifier_conflicts:
                return self._decision(
                    record_id, "review", best, "probabilistic", "review: a valid identifier conflicts", total, second
                )
            if best.cap_reason:
                return self._decision(
                    record_id,
                    "review",
                    best,
                    "probabilistic",
                    f"review: never auto-matched when {best.cap_reason} (twin or sibling?)",
                    total,
                    second,
                )
            if (
                second is not None
                and second.match_probability >= t.review
                and (best.match_weight - second.match_weight < t.min_gap_bits)
            ):
                gap = best.match_weight - second.match_weight
                return self._decision(
                    record_id,
                    "review",
                    best,
                    "probabilistic",
                    f"review: second-best candidate only {gap:.1f} bits behind",
                    total,
                    second,
                )
            return self._decision(record_id, "match", best, "probabilistic", "match", total, second)
        if p >= t.review:
            return self._decision(
                record_id, "review", best, "probabilistic", "review: probability between thresholds", total, second
            )
        return self._decision(record_id, "no_match", best, "probabilistic", "no_match: weak evidence", total, second)

    def _decision(
        self,
        record_id: str,
        outcome: str,
        chosen: CandidateScore | None,
        rule: str,
        why: str,
        count: int,
        second: CandidateScore | None = None,
    ) -> LinkDecision:
        if chosen is None:
            return LinkDecision(
                record_id,
                "no_match",
                None,
                0.0,
                None,
                "none",
                (),
                why,
                count,
                config_version=self.config.version,
            )
        prob = chosen.match_probability
        reason = f"{why} (p={prob:.4f}); {describe(chosen)}"
        return LinkDecision(
            record_id=record_id,
            decision=outcome,  # type: ignore[arg-type]
            register_id=chosen.register_id,
            match_probability=prob,
            match_weight=chosen.match_weight,
            rule=rule,  # type: ignore[arg-type]
            comparisons=chosen.comparisons,
            reason=reason,
            candidates=count,
            second_register_id=second.register_id if second else None,
            second_match_weight=second.match_weight if second else None,
            config_version=self.config.version,
        )

    def link_all(self, records: Iterable[PersonRecord], index: BlockingIndex) -> Iterator[LinkDecision]:
        """Decisions for many records, in order (the batch command's loop)."""
        for record in records:
            yield self.link(record, index)
