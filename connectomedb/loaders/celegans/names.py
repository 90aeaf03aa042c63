"""One id per C. elegans cell, whichever spelling a cect file uses."""

from __future__ import annotations

import re

UNSPLIT_BODY_WALL_MUSCLE = "BWM"

_VNC_ZERO = re.compile(r"^(DA|DB|DD|AS|VA|VB|VC|VD)0(\d)$")
_COOK_BWM = re.compile(r"^([dv])BWM([LR])(\d{1,2})$")
_WITVLIET_BWM = re.compile(r"^BWM-([DV])([LR])(\d{2})$")
_RENAMES = {
    "LegacyBodyWallMuscles": UNSPLIT_BODY_WALL_MUSCLE,
    "g1p": "g1P",
    "excgl": "exc_gl",
    "avfl": "AVFL",
    "avfr": "AVFR",
}


def canonical_name(raw: str) -> str:
    """The id of a cell name, made consistent across the datasets as cect does.

    ``DA01`` -> ``DA1`` for DA/DB/DD/AS/VA/VB/VC/VD; body wall muscles ``dBWML1``
    (Cook) and ``BWM-DL01`` (Witvliet) -> ``MDL01``; ``LegacyBodyWallMuscles`` -> ``BWM``
    (all body wall muscles as one cell); ``g1p`` -> ``g1P``, ``excgl`` -> ``exc_gl``,
    ``avfl``/``avfr`` upper-cased; other names are kept.
    """
    name = raw.strip()
    m = _VNC_ZERO.match(name)
    if m:
        return m.group(1) + m.group(2)
    m = _COOK_BWM.match(name)
    if m:
        return f"M{m.group(1).upper()}{m.group(2)}{int(m.group(3)):02d}"
    m = _WITVLIET_BWM.match(name)
    if m:
        return f"M{m.group(1)}{m.group(2)}{m.group(3)}"
    return _RENAMES.get(name, name)
