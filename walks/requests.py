"""The walk endpoints' request bodies: validated, with the limits docs/walks.md lists."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from walks.engine import MAX_QUERY_PINS, MAX_STEPS, MAX_TOP_K, Query

Weight = Annotated[float, Field(gt=0.0, le=1_000_000)]


class Bias(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topics: list[str] = Field(default_factory=list, max_length=20)
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$")


class EarlyStop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    np: int = Field(default=2000, ge=1, le=1_000_000)
    nv: int = Field(default=4, ge=1, le=1_000_000)


class WalkOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    steps: int = Field(default=100_000, ge=1, le=MAX_STEPS)
    restart: float = Field(default=0.5, gt=0.0, le=1.0)
    top_k: int = Field(default=50, ge=1, le=MAX_TOP_K, alias="topK")
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    bias: Bias | None = None
    early_stop: EarlyStop | None = Field(default=None, alias="earlyStop")
    exclude: list[str] = Field(default_factory=list, max_length=10_000)
    # Only the served graph is in memory: any other version is refused (CONFLICT).
    graph_version: str | None = Field(default=None, alias="graphVersion", max_length=100)

    def query(self, pins: dict[str, float]) -> Query:
        return Query(
            pins=pins,
            steps=self.steps,
            restart=self.restart,
            top_k=self.top_k,
            seed=self.seed,
            topics=self.bias.topics if self.bias else [],
            lang=self.bias.lang if self.bias else None,
            early_np=self.early_stop.np if self.early_stop else 0,
            early_nv=self.early_stop.nv if self.early_stop else 0,
            exclude=self.exclude,
            graph_version=self.graph_version,
        )


class RelatedRequest(WalkOptions):
    id: str | int | None = None  # echoed in /walks/batch answers
    pins: dict[str, Weight] | list[str]

    @field_validator("pins")
    @classmethod
    def _pins(cls, value: dict[str, float] | list[str]) -> dict[str, float] | list[str]:
        if not value:
            raise ValueError("give at least one pin")
        if len(value) > MAX_QUERY_PINS:
            raise ValueError(f"at most {MAX_QUERY_PINS} query pins")
        return value

    def to_query(self) -> Query:
        pins = self.pins if isinstance(self.pins, dict) else dict.fromkeys(self.pins, 1.0)
        return self.query(pins)


class FeedRequest(WalkOptions):
    user_id: str = Field(alias="userId", min_length=1, max_length=64)
