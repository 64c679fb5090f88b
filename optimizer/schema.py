"""The record types of an instance (MODEL.md §2), declared once as frozen msgspec structs.

msgspec builds the 66,157 people of the national instance from the parsed document in a few
hundredths of a second, and each field of such a struct reads in about half the time of a
pydantic model's.  The schema's ranges, lengths and literals are msgspec ``Meta`` constraints.
Two rules are not in the structs: unknown keys and control characters, which
:mod:`optimizer.instance` checks on the document itself.

The same schema as pydantic models (:func:`wording_model`, built on first use) words the
problems of an invalid document: every problem at once, in the one-line messages users know.
The two cannot drift apart: the pydantic models are made from these structs' annotations.

Own annotations (keys starting with ``x_``) are kept in each record's ``annotations`` field
(JSON name ``x_``; :mod:`optimizer.instance` gathers them there).  A pin's ``decision`` is its
tag (msgspec's tagged union); it reads as an attribute like any field.
"""

from __future__ import annotations

import copy
import functools
import types
import typing
from typing import Annotated, Any, Literal, Union

from msgspec import Meta, Struct, field, structs

DEFAULT_HUMANITARIAN = {
    "pregnant": 0.25,
    "medical": 0.5,
    "mental_health": 0.5,
    "caretaker": 0.5,
    "elderly": 0.5,
    "disabled": 0.5,
}
FACILITY_TYPES = (
    "SPC", "CDF", "IGSA", "DIGSA", "USMS_IGA", "USMS_CDF", "BOP",
    "FAMILY", "STAGING", "HOLD", "STATE", "DOD", "OTHER",
)
TECHNOLOGIES = ("ankle_gps", "wrist_gps", "app", "telephonic", "case_management", "none")
LEVELS = ("A", "B", "C", "D")

# no control characters: ids and names go into CSV cells and one-line messages (every string of
# the schema without a pattern of its own; checked on the document, see the module docstring)
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Str = Annotated[str, Meta(min_length=1, max_length=200)]
Count = Annotated[int, Meta(ge=0, le=10_000_000)]
Days = Annotated[int, Meta(ge=0, le=100_000)]
Usd = Annotated[float, Meta(ge=0, le=1e9)]
Lat = Annotated[float, Meta(ge=-90, le=90)]
Lon = Annotated[float, Meta(ge=-180, le=180)]
Risk = Annotated[float, Meta(ge=0, le=100)]
Annotations = Union[dict[str, Any], None]  # noqa: UP007 (a field type msgspec reads at run time)
ANNOTATIONS = "x_"  # the JSON name of every record's ``annotations`` field


def _annotations():
    return field(default=None, name=ANNOTATIONS)


class Record(Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """A record of the instance; unknown keys are ignored here and refused by the reader.  Not
    tracked by the cyclic garbage collector (records hold no cycle); fields at their default
    left out of :func:`as_dict`'s first pass (``omit_defaults``)."""


class Policy(Record, kw_only=True):
    """Instance-wide policy; ``humanitarian_factors`` is merged over :data:`DEFAULT_HUMANITARIAN`."""

    humanitarian_factors: dict[Str, Annotated[float, Meta(gt=0, le=1)]] = field(default_factory=dict)
    cost_days: Annotated[int, Meta(ge=1, le=100_000)] = 30
    transfer_fixed_usd: Usd = 250.0
    transfer_usd_per_km: Usd = 0.5
    max_transfers_per_day: Count | None = None  # 1.1: national transport seats per day
    annotations: Annotations = _annotations()

    def factors(self) -> dict[str, float]:
        """The merged multiplier table: defaults overridden or extended by the instance."""
        return {**DEFAULT_HUMANITARIAN, **self.humanitarian_factors}


class Aor(Record, kw_only=True):
    code: Str
    name: Str
    lat: Lat
    lon: Lon
    max_transfers_out_per_day: Count | None = None  # 1.1: seats out of this AOR's facilities per day
    annotations: Annotations = _annotations()


class Unit(Record, kw_only=True):
    id: Str
    sex: Literal["M", "F", "any"]
    levels: Annotated[list[Literal["A", "B", "C", "D"]], Meta(min_length=1, max_length=4)]
    beds: Count
    surge_beds: Count = 0
    medical: bool = False
    family: bool = False
    annotations: Annotations = _annotations()


class Facility(Record, kw_only=True):
    id: Str
    name: Str
    aor: Str
    state: Str
    type: Literal[FACILITY_TYPES]  # type: ignore[valid-type]
    lat: Lat
    lon: Lon
    guaranteed_minimum: Count = 0
    gm_rate: Usd = 0.0
    per_diem: Usd
    max_stay_days: Days | None = None
    units: list[Unit]
    annotations: Annotations = _annotations()


class AtdProgram(Record, kw_only=True):
    id: Str
    technology: Literal[TECHNOLOGIES]  # type: ignore[valid-type]
    per_diem: Usd
    capacity: Count | None = None
    max_risk: Risk
    aor: Str | None = None
    annotations: Annotations = _annotations()


class DetainPin(Record, kw_only=True, tag_field="decision", tag="detain"):
    """1.1: detained on every day of the stay, in ``unit``, in some unit of ``facility``, or
    anywhere when both are null (MODEL.md §2 ``pin``)."""

    facility: Str | None = None
    unit: Str | None = None
    annotations: Annotations = _annotations()
    decision = "detain"


class ReleasePin(Record, kw_only=True, tag_field="decision", tag="release"):
    """1.1: released, to ``atd_program`` and on ``release_day`` where given."""

    atd_program: Str | None = None
    release_day: Days | None = None
    annotations: Annotations = _annotations()
    decision = "release"


class Person(Record, kw_only=True):
    id: Str
    sex: Literal["M", "F"]
    level: Literal["A", "B", "C", "D"] | None
    risk: Risk
    aor: Str
    origin: Str | None = None
    mandatory: bool = False
    max_custody_days: Days | None = None
    custody_days: Days = 0
    needs_medical: bool = False
    humanitarian: list[Str] = field(default_factory=list)
    family_id: Str | None = None
    minor: bool = False
    arrival_day: Days = 0
    removal_day: Days | None = None
    local_ties: bool = False  # 1.1: held only in the origin facility or a facility of the person's AOR
    pin: DetainPin | ReleasePin | None = None  # 1.1: a decision taken outside the plan
    annotations: Annotations = _annotations()


class Instance(Record, kw_only=True, gc=True, weakref=True):
    """A validated instance (MODEL.md §2), defaults applied; field names as in MODEL.md.  Weakly
    referable: arrays computed from it are cached for its lifetime (:mod:`optimizer.model`)."""

    format: Literal["bedalloc-instance"]
    version: Literal[1]
    name: Str
    snapshot_date: Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    horizon_days: Annotated[int, Meta(ge=1, le=3660)]
    policy: Policy = field(default_factory=Policy)
    aors: list[Aor]
    facilities: list[Facility]
    atd_programs: list[AtdProgram]
    people: list[Person]
    annotations: Annotations = _annotations()


PINS = {"detain": DetainPin, "release": ReleasePin}


def replace(record: Record, **changes) -> Record:
    """A copy of ``record`` with ``changes`` (field name -> value), not validated again."""
    return structs.replace(record, **changes)


@functools.cache
def _layout(cls: type[Record]) -> tuple[tuple[str, str, bool, Any], ...]:
    """(name, JSON key, required, default) of each field of ``cls`` but ``annotations``, in
    declaration order; a factory's default as its value (compared, never handed out)."""
    return tuple((f.name, f.encode_name, f.required,
                  f.default_factory() if f.default_factory is not structs.NODEFAULT else f.default)
                 for f in structs.fields(cls) if f.name != "annotations")


@functools.cache
def _defaults(cls: type[Record], full: bool) -> tuple[tuple[str, Any], ...]:
    """(JSON key, default as :func:`as_dict` gives it, with its defaults or without) of each
    optional field of ``cls``."""
    return tuple((key, as_dict(default, not full)) for _, key, required, default in _layout(cls) if not required)


def known_keys(cls: type[Record]) -> tuple[str, ...]:
    """The JSON keys of ``cls`` in declaration order (a pin's ``decision`` first)."""
    tag = cls.__struct_config__.tag_field
    return ((tag,) if tag else ()) + tuple(key for _, key, _, _ in _layout(cls))


def as_dict(record, drop_defaults: bool = False):
    """``record`` (or a list of records) as JSON-like data, nothing shared with it: records as
    dicts of their JSON keys (a pin with its ``decision``, annotations in place); with
    ``drop_defaults``, fields at their default left out.  msgspec writes the data (0.1 s for
    the national instance); then each record's annotations are put in place, and its defaults
    back unless dropped."""
    import msgspec

    out = msgspec.to_builtins(record)
    _restore(record, out, not drop_defaults)
    return out


_NESTED = {Instance: ("policy", "aors", "facilities", "atd_programs", "people"), Facility: ("units",),
           Person: ("pin",)}  # the fields that hold records (their JSON keys are their names)


def _restore(record, out, full: bool) -> None:
    """In ``out`` (msgspec's data of ``record``, a record or a list of them): the annotations in
    place of their ``x_`` key, and the fields at their default added when ``full``, else left
    out; recursively."""
    if isinstance(record, list):
        for r, o in zip(record, out):
            _restore(r, o, full)
        return
    if not isinstance(record, Record):
        return
    if record.annotations is not None:
        out.update(out.pop(ANNOTATIONS))
    for name in _NESTED.get(type(record), ()):
        if name in out:
            _restore(getattr(record, name), out[name], full)
    for key, default in _defaults(type(record), full):  # (omit_defaults compares floats by identity)
        if full and key not in out:
            out[key] = copy.deepcopy(default) if type(default) in (list, dict) else default
        elif not full and key in out and out[key] == default:
            del out[key]


# ---- the same schema as pydantic models, for wording problems ---------------------------------

def _pydantic_type(t):
    """The pydantic annotation of a struct field's annotation ``t``."""
    from pydantic import Field, StringConstraints

    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is Annotated:
        meta = args[1]
        kw = {k: getattr(meta, k) for k in ("ge", "le", "gt", "min_length", "max_length", "pattern")
              if getattr(meta, k) is not None}
        if args[0] is str:
            return Annotated[str, StringConstraints(**{"pattern": NO_CONTROL, **kw})]
        return Annotated[_pydantic_type(args[0]), Field(**kw)]
    if isinstance(t, type) and issubclass(t, Record):
        return wording_model(t)
    if origin in (Union, types.UnionType):
        members = tuple(_pydantic_type(a) for a in args)
        tagged = [a for a in args if isinstance(a, type) and issubclass(a, Record) and a.__struct_config__.tag_field]
        if tagged:
            union = Annotated[Union[tuple(m for a, m in zip(args, members) if a in tagged)],  # noqa: UP007
                              Field(discriminator=tagged[0].__struct_config__.tag_field)]
            return union | None if type(None) in args else union
        return Union[members]  # noqa: UP007
    if origin in (list, dict):
        return origin[tuple(_pydantic_type(a) for a in args)] if origin is dict else list[_pydantic_type(args[0])]
    if t is str:
        return Annotated[str, StringConstraints(pattern=NO_CONTROL)]
    return t


@functools.cache
def wording_model(cls: type[Record]):
    """The pydantic model of ``cls`` (strict, finite numbers, unknown keys kept as extras):
    what words the problems of an invalid document, and what spreadsheets read their columns'
    kinds and defaults from."""
    from pydantic import ConfigDict, Field, create_model

    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {}
    tag = cls.__struct_config__.tag_field
    if tag:
        fields[tag] = (Literal[cls.__struct_config__.tag], ...)
    for f in structs.fields(cls):
        if f.name == "annotations":
            continue
        factory = f.default_factory
        if isinstance(factory, type) and issubclass(factory, Record):  # a record's own defaults, as a model
            factory = wording_model(factory)
        default = (Field(default_factory=factory) if factory is not structs.NODEFAULT
                   else ... if f.required else f.default)
        fields[f.name] = (_pydantic_type(hints[f.name]), default)
    config = ConfigDict(strict=True, extra="allow", allow_inf_nan=False, frozen=True)
    return create_model(cls.__name__, __config__=config, __doc__=cls.__doc__, **fields)
