"""Why each person was released or left unplaced, and the release cutoff of each bed class.

Computed from the instance and the plan rows alone (like the verifier), so it explains any
plan, whoever made it.  A person's *bed class* is the set of housing units they fit: family or
single, sex, classification level, medical need and the stay limits they meet (MODEL.md §3
rules 2 and 5).  Reasons (plan.csv column ``reason``):

* ``legal_limit``: released on the day the custody limit is reached (MODEL.md §3 rule 4), or
  unplaced when the limit comes before the person leaves custody (so no bed until then, rules 4
  and 6) and no eligible ATD program exists (for a family: for one of its adults);
* ``no_compatible_bed``: no housing unit of the instance fits the person at all;
* ``short_stay_only``: only units of short-stay facilities fit, whose ``max_stay_days`` the
  person's stay exceeds (rule 5);
* ``humanitarian``: released although the raw risk is at least the lowest effective risk kept
  in the bed class: a humanitarian factor moved the person below the release cutoff;
* ``capacity``: released because every compatible bed went to people of higher effective risk
  (or to people who may not be released); for an unplaced person, no compatible bed was free;
* ``atd_capacity``: unplaced although release was allowed (or required by the legal limit): no
  eligible ATD program had a slot (a family can be released only when every adult has an
  eligible program, so all its members get the same reason);
* ``cost``: released although a compatible bed was free: the person's effective risk is 0, so
  releasing adds no risk and costs less than a bed.

Reasons and cutoffs compare effective risks only; in a multi-day plan they do not weigh how long
each person stays (a person leaving tomorrow may be kept while a lower risk is released).

The *release cutoff* of a bed class is the highest effective risk released for capacity or
humanitarian reasons and the lowest effective risk kept among the people who could have been
released (releasable, with an eligible ATD program that still has room).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .horizon import person_days
from .instance import Instance
from .model import (
    BIG_STAY, family_groups, family_members, family_units, network_arrays, people_arrays, programs_of, single_units,
)

REASONS = ("legal_limit", "capacity", "humanitarian", "atd_capacity", "no_compatible_bed", "short_stay_only", "cost")


def _bed_classes(inst: Instance, P, N):
    """Per person (P,): bed class index (people who fit exactly the same units, or the same
    family), the class labels, whether any unit fits ignoring stay limits, whether any unit
    fits (bool arrays), and each class's units (classes, U) bool."""
    n = len(P.sex)
    stays = np.unique(N.fac_max_stay[N.fac_max_stay < BIG_STAY])
    band = np.searchsorted(stays, P.stay, side="left")
    fam = P.family >= 0
    key = np.stack([np.where(fam, 1 + P.family, 0), P.sex, np.where(P.minor, -1, P.level), P.medical, band],
                   axis=1).astype(np.int64)
    key[fam, 1:] = -1  # a family's units depend on all its members: one class per family
    # np.unique on one int64 per person (mixed radix) is much faster than on rows
    radix = key.max(axis=0, initial=0) + 2
    _, first, kid = np.unique(np.ravel_multi_index((key + 1).T, radix), return_index=True, return_inverse=True)
    uniq = key[first]
    kid = kid.ravel()
    rep = np.zeros(len(uniq), np.int64)
    rep[kid[::-1]] = np.arange(n)[::-1]
    units = np.zeros((len(uniq), len(N.unit_fac)), bool)
    fits_any = np.zeros(len(uniq), bool)
    nostay = replace(P, stay=np.zeros(n, np.int64))  # stay limits ignored
    single = np.flatnonzero(uniq[:, 0] == 0)
    if len(single):
        units[single] = single_units(P, N, rep[single])
        fits_any[single] = single_units(nostay, N, rep[single]).any(axis=1)
    members = family_members(P)
    for k in np.flatnonzero(uniq[:, 0] > 0):
        mem = members[int(uniq[k, 0] - 1)]
        units[k] = family_units(P, N, mem)
        fits_any[k] = family_units(nostay, N, mem).any()
    # single people who fit exactly the same units share a class; each family is its own class
    sets, kcls = np.unique(np.concatenate([units, np.where(uniq[:, :1] > 0, uniq[:, :1], 0)], axis=1),
                           axis=0, return_inverse=True)
    kcls = kcls.ravel()
    labels = []
    for c in range(len(sets)):
        ks = uniq[kcls == c]
        if ks[0, 0] > 0:
            labels.append(f"family {inst.people[members[int(ks[0, 0] - 1)][0]].family_id}")
            continue
        sexes = " and ".join(("men", "women")[s] for s in sorted(set(ks[:, 1].tolist())))
        levels = "".join("ABCD"[lv] for lv in sorted(set(ks[:, 2].tolist())) if lv >= 0)
        text = sexes + (f" of level {'-'.join(levels) if len(levels) < 3 else levels}" if levels else "")
        text += " needing a medical bed" if ks[:, 3].all() else ""
        b = int(ks[:, 4].min())
        text += f" staying more than {stays[b - 1]} day{'s' if stays[b - 1] != 1 else ''}" if b > 0 else ""
        labels.append(text if units[kcls == c].any() else text + " (no unit fits)")
    cls = kcls[kid]
    return cls, labels, fits_any[kid], units.any(axis=1)[kid], sets[:, :units.shape[1]]


def _analyse(inst: Instance, rows: list[dict[str, str]]) -> dict:
    """Per person arrays (P,) of the plan and its bed classes (see :func:`reasons`)."""
    P = people_arrays(inst)
    N = network_arrays(inst)
    cls, labels, fits_any, fits, class_units = _bed_classes(inst, P, N)
    n = len(P.sex)
    dec = np.array([r["decision"] for r in rows], dtype=object)
    unit_index = {u.id: k for k, u in enumerate(u for f in inst.facilities for u in f.units)}
    occ = np.zeros(len(N.unit_fac), np.int64)
    for r in rows:
        if r["unit_id"]:
            occ[unit_index[r["unit_id"]]] += 1
    # per class: the most regular beds left in one of its units (a family needs room for all)
    max_free = np.where(class_units, (N.unit_beds - occ)[None, :], 0).max(axis=1, initial=0)
    block = family_groups(P, np.ones(n, np.int64), np.add)  # people who need a bed together
    surge_used = (class_units * np.maximum(0, occ - N.unit_beds)[None, :]).sum(axis=1)
    rday = np.array([int(r["release_day"]) if r["release_day"] else -1 for r in rows], np.int64)
    arrival, end, limit = person_days(inst, P)
    raw = np.round(P.risk, 4)
    fam_mandatory = family_groups(P, P.mandatory, np.logical_or)
    limit = family_groups(P, limit, np.minimum)  # one member at the limit: the family may not hold a bed
    # the limit comes before the person leaves custody (by removal or the end of the plan): no bed
    # until then, so release is required (MODEL.md §3 rules 4 and 6)
    must_leave = limit < end
    releasable = ~P.mandatory & ~fam_mandatory
    eligible = programs_of(P, N, np.arange(n))
    has_program = family_groups(P, eligible.any(axis=1) | P.minor, np.logical_and)  # a family: every adult
    prog_index = {a.id: k for k, a in enumerate(inst.atd_programs)}
    enrolled = np.bincount([prog_index[r["atd_program_id"]] for r in rows if r["atd_program_id"]],
                           minlength=len(prog_index))
    open_slot = (N.prog_capacity < 0) | (enrolled < N.prog_capacity)
    # kept although they could have been released: releasable, with an eligible program with room
    kept = (dec == "detain") & releasable & (eligible & open_slot[None, :]).any(axis=1) & ~P.minor & (limit > arrival)
    released = dec == "release"
    lowest_kept = np.full(len(labels), np.inf)
    np.minimum.at(lowest_kept, cls[kept], P.eff[kept])
    why = [""] * n
    for i in np.flatnonzero(released | (dec == "unplaced")):
        blocked = released[i] or not releasable[i] or not has_program[i]
        if rday[i] >= limit[i] if released[i] else must_leave[i] and not has_program[i]:
            why[i] = "legal_limit"  # released at the limit, or unplaced, bound to leave, without an eligible program
        elif not released[i] and must_leave[i]:
            why[i] = "atd_capacity"  # must be released, every eligible program full
        elif not fits_any[i] and blocked:
            why[i] = "no_compatible_bed"
        elif not fits[i] and blocked:
            why[i] = "short_stay_only"
        elif released[i] and max_free[cls[i]] >= block[i]:
            why[i] = "cost"  # a compatible bed was free: releasing costs no risk (effective risk 0) and less money
        elif released[i]:
            why[i] = "humanitarian" if P.eff[i] < raw[i] and raw[i] >= lowest_kept[cls[i]] else "capacity"
        else:
            why[i] = "atd_capacity" if releasable[i] and has_program[i] else "capacity"
    voluntary = released & np.isin(np.array(why, dtype=object), ["capacity", "humanitarian"])
    return {"P": P, "cls": cls, "labels": labels, "why": why, "kept": kept, "voluntary": voluntary,
            "surge_used": surge_used,
            "lowest_kept": lowest_kept, "releasable": releasable, "limit": limit, "must_leave": must_leave,
            "rday": rday, "dec": dec}


def reasons(inst: Instance, rows: list[dict[str, str]]) -> tuple[list[str], list[dict]]:
    """The reason of each plan row (``""`` for detained and removed people) and the release
    cutoff of each bed class of single people with releases or releasable people kept (a list
    of dicts: ``class``, ``released``, ``kept_releasable``, ``highest_released``,
    ``lowest_kept``; effective risk).

    ``rows`` are verified plan rows in instance order (MODEL.md §5)."""
    a = _analyse(inst, rows)
    P, cls, labels, kept, voluntary = a["P"], a["cls"], a["labels"], a["kept"], a["voluntary"]
    cutoffs = []
    for c, label in enumerate(labels):
        if label.startswith("family "):
            continue  # a family is one block, released or kept whole
        rel = voluntary & (cls == c)
        kc = kept & (cls == c)
        if rel.any() or kc.any():
            cutoffs.append({"class": label, "released": int(rel.sum()), "kept_releasable": int(kc.sum()),
                            "highest_released": float(P.eff[rel].max()) if rel.any() else None,
                            "lowest_kept": float(P.eff[kc].min()) if kc.any() else None})
    return a["why"], cutoffs


def explain(inst: Instance, rows: list[dict[str, str]], person_id: str) -> str | None:
    """A few plain sentences: the person's facts, outcome, reason and what would have changed
    it; None when no row has ``person_id``."""
    ids = [r["person_id"] for r in rows]
    if person_id not in ids:
        return None
    i = ids.index(person_id)
    a = _analyse(inst, rows)
    P, r, p = a["P"], rows[i], inst.people[i]
    label = a["labels"][a["cls"][i]]
    eff, raw = float(P.eff[i]), float(round(p.risk, 4))
    facts = (f"{p.id}: {'woman' if p.sex == 'F' else 'man'}{' (minor)' if p.minor else ''}"
             f"{f', level {p.level}' if p.level else ''}, AOR {p.aor}, risk {raw:g}")
    if p.humanitarian:
        facts += f" (effective {eff:g} after {', '.join(p.humanitarian)})"
    if p.mandatory:
        facts += ", mandatory detention"
    if p.max_custody_days is not None:
        facts += f", {p.custody_days} of at most {p.max_custody_days} days in custody"
    facts += f"; bed class: {label}."
    why, dec = a["why"][i], r["decision"]
    lk = a["lowest_kept"][a["cls"][i]]
    where = f"unit {r['unit_id']} of facility {r['facility_id']}" if r["unit_id"] else ""
    if dec == "removed":
        return facts + f"\nRemoved: leaves custody by removal on day {p.removal_day}; no decision is needed."
    if dec == "detain":
        why_kept = ("mandatory detention: may not be released (MODEL.md §3 rule 4)" if not a["releasable"][i]
                    else "held with their family" if p.minor or p.family_id
                    else f"their effective risk {eff:g} is above what the plan released for {label}")
        return facts + f"\nDetained in {where}: {why_kept}."
    released = f"Released on day {r['release_day']}" + (f" to ATD program {r['atd_program_id']}"
                                                          if r["atd_program_id"] else " (no program: a minor)")
    released += f", after holding a bed in {where}" if where else ""
    if why == "legal_limit" and dec == "release":
        return facts + (f"\n{released}. Reason legal_limit: the custody limit is reached on day {a['limit'][i]}, "
                        "so the law requires release by then (MODEL.md §3 rule 4). Nothing in capacity would "
                        "change it.")
    if why == "humanitarian":
        return facts + (f"\n{released}. Reason humanitarian: the factors {', '.join(p.humanitarian)} lower the "
                        f"effective risk from {raw:g} to {eff:g}, below the lowest effective risk kept for {label} "
                        f"({lk:g}). Without them the person would have been kept.")
    if why == "capacity" and dec == "release":
        same = a["voluntary"] & (a["cls"] == a["cls"][i]) & (P.eff >= P.eff[i])
        more = int(same.sum()) + int(a["surge_used"][a["cls"][i]])  # surge beds in use are replaced first
        if p.family_id:
            more = int((P.family == P.family[i]).sum())
        kept_text = f"the lowest effective risk kept there is {lk:g}" if np.isfinite(lk) else \
            "no one who could be released was kept there"
        return facts + (f"\n{released}. Reason capacity: every compatible bed ({label}) went to people of higher "
                        f"effective risk or to people who may not be released; {kept_text}. Kept if {more} more "
                        f"bed{'s' if more > 1 else ''} for {label} had been free.")
    if why == "no_compatible_bed":
        return facts + (f"\n{dec.capitalize()}: reason no_compatible_bed: no housing unit of the instance fits "
                        f"{label}. A unit for them would change it.")
    if why == "short_stay_only":
        return facts + (f"\n{dec.capitalize()}: reason short_stay_only: only short-stay facilities have units "
                        "that fit, and the person's stay exceeds their limit (MODEL.md §3 rule 5). A bed in a "
                        "facility without a stay limit would change it.")
    if why == "atd_capacity" and a["must_leave"][i]:
        return facts + (f"\nUnplaced: reason atd_capacity: the custody limit is reached on day {a['limit'][i]}, "
                        "before the person leaves custody, so the law requires release by then, and every eligible "
                        "ATD program is full. One more slot in an eligible program would change it.")
    if why == "atd_capacity":
        return facts + ("\nUnplaced: reason atd_capacity: no compatible bed was free and no eligible ATD program "
                        "had a free slot. One more slot in an eligible program, or one more bed, would change it.")
    if why == "legal_limit":
        return facts + (f"\nUnplaced: reason legal_limit: the custody limit is reached on day {a['limit'][i]}, "
                        "before the person leaves custody, so the law requires release by then, and no ATD "
                        "program may take this person (or, in a family, one of its adults). An eligible program "
                        "would change it.")
    if why == "cost":
        return facts + (f"\n{released}. Reason cost: a compatible bed was free, but the effective risk is 0: "
                        "releasing adds no risk and costs less than the bed.")
    return facts + (f"\nUnplaced: reason capacity: the person may not be released and every compatible bed "
                    f"({label}, surge beds included) is taken. One more such bed would change it.")
