"""Read a device description from YAML/JSON (units in the field names) into a `DeviceSpec` (SI units).

Units live only at this edge: a file says `hbm_gb: 80` or `peak_tflops: {bf16: 989.4}`,
and `EDGE_FIELDS` below is the one table that turns each such key into an SI field and factor.
Every mistake in a file (unknown key, wrong type, missing field, bad number, bad syntax)
raises ValueError with one line naming the file and the field.
"""
from __future__ import annotations

import difflib
import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from hardware.spec import DTYPES, DeviceSpec, canonical_dtype

GB, GIB, MB, MIB, MHZ, GHZ = 1e9, 2.0**30, 1e6, 2.0**20, 1e6, 1e9

# Edge key -> (SI field of DeviceSpec, factor to SI). Several keys may feed one field
# (a file uses exactly one of them). "bidir" keys take the vendor's bidirectional total
# (e.g. NVLink4 "900 GB/s") and halve it into the per-direction figure DeviceSpec holds.
EDGE_FIELDS: dict[str, tuple[str, float]] = {
    "hbm_gb": ("hbm_bytes", GB),                       # decimal gigabytes
    "hbm_gib": ("hbm_bytes", GIB),                     # binary: how DRAM is actually sized
    "hbm_bandwidth_GBps": ("hbm_bandwidth", GB),
    "hbm_bandwidth_TBps": ("hbm_bandwidth", 1e12),
    "l2_mb": ("l2_bytes", MB),
    "l2_mib": ("l2_bytes", MIB),                       # vendors' "50 MB L2" is 50 MiB
    "sm_count": ("sm_count", 1),
    "clock_mhz": ("clock_hz", MHZ),
    "clock_ghz": ("clock_hz", GHZ),
    "tdp_w": ("tdp_w", 1),
    "idle_w": ("idle_w", 1),
    "scaleup_bandwidth_GBps": ("scaleup_bandwidth", GB),      # per direction
    "scaleup_bidir_GBps": ("scaleup_bandwidth", GB / 2),      # bidirectional total / 2
    "scaleup_domain": ("scaleup_domain", 1),
    "nic_bandwidth_GBps": ("nic_bandwidth", GB),              # per direction
    "nic_gbps": ("nic_bandwidth", GB / 8),                    # line rate in Gb/s (400 -> 50 GB/s)
    "host_link_bandwidth_GBps": ("host_link_bandwidth", GB),  # per direction
    "host_link_bidir_GBps": ("host_link_bandwidth", GB / 2),  # bidirectional total / 2
    "host_memory_gb": ("host_memory_bytes", GB),
    "host_memory_gib": ("host_memory_bytes", GIB),
    "nvme_bandwidth_GBps": ("nvme_bandwidth", GB),
}
PEAK_KEY, PEAK_FACTOR = "peak_tflops", 1e12          # {dtype: dense TFLOP/s}
TEXT_FIELDS = ("name", "vendor", "form_factor")
OTHER_KEYS = ("aliases", "sources", "base")
KNOWN_KEYS = (*TEXT_FIELDS, PEAK_KEY, *EDGE_FIELDS, *OTHER_KEYS)

INT_FIELDS = {"sm_count", "scaleup_domain"}
# Zero means "this system has none" (no NVLink, no NIC, no local NVMe, no cache); others must be > 0.
ZERO_OK_FIELDS = {"l2_bytes", "scaleup_bandwidth", "nic_bandwidth", "host_memory_bytes", "nvme_bandwidth"}
SI_NUMERIC = tuple(dict.fromkeys(si for si, _ in EDGE_FIELDS.values()))
REQUIRED = ("name", "vendor", "peak_flops", *SI_NUMERIC)


def _edge_keys_for(si_field: str) -> list[str]:
    return [k for k, (si, _) in EDGE_FIELDS.items() if si == si_field] or [PEAK_KEY]


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"{message} in {where}")


def _number(where: str, key: str, value: Any, si_field: str) -> float:
    """Check one edge value: a real number, integral where counted, positive (or zero where allowed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"field {key!r} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise _fail(where, f"field {key!r} must be finite, got {value!r}")
    if si_field in INT_FIELDS and float(value) != int(value):
        raise _fail(where, f"field {key!r} must be a whole number, got {value!r}")
    if value < 0 or (value == 0 and si_field not in ZERO_OK_FIELDS):
        need = "must not be negative" if si_field in ZERO_OK_FIELDS else "must be positive"
        raise _fail(where, f"field {key!r} {need}, got {value!r}")
    return float(value)


def _peak_flops(where: str, value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise _fail(where, f"field {PEAK_KEY!r} must be a mapping dtype -> dense TFLOP/s "
                           f"(e.g. {{bf16: 989.4}}), got {value!r}")
    out = {}
    for dtype, tflops in value.items():
        try:
            key = canonical_dtype(dtype)
        except ValueError:
            raise _fail(where, f"unknown dtype {dtype!r} in field {PEAK_KEY!r} "
                               f"(known: {', '.join(DTYPES)}){_suggest(str(dtype), DTYPES)}") from None
        out[key] = _number(where, f"{PEAK_KEY}.{dtype}", tflops, "peak_flops") * PEAK_FACTOR
    return out


def _source_key(where: str, key: str) -> str:
    """Map a `sources:` key (edge or SI name, `peak_tflops.bf16`) onto the SI name DeviceSpec uses."""
    head, _, dtype = str(key).partition(".")
    if head in (PEAK_KEY, "peak_flops"):
        if not dtype:
            return "peak_flops"
        try:
            return f"peak_flops.{canonical_dtype(dtype)}"
        except ValueError:
            raise _fail(where, f"unknown dtype {dtype!r} in sources key {key!r}") from None
    if key in EDGE_FIELDS:
        return EDGE_FIELDS[key][0]
    spec_fields = [f.name for f in fields(DeviceSpec)]
    if key in spec_fields:
        return key
    raise _fail(where, f"unknown sources key {key!r}{_suggest(str(key), [*EDGE_FIELDS, *spec_fields])}")


def _cite(where: str, data: Mapping[str, Any], given: Mapping[str, str],
          inherited: Mapping[str, str], base_name: str | None) -> dict[str, str]:
    """Sources of the new spec: inherited ones, then 'user file ...' for each number the file sets,
    then the file's own `sources:` (a bare `peak_tflops` key covers the dtypes the file sets)."""
    raw = data.get("sources", {}) or {}
    if not isinstance(raw, Mapping):
        raise _fail(where, f"field 'sources' must be a mapping field -> source, got {raw!r}")
    peaks = [f"peak_flops.{d}" for d in _peak_flops(where, data[PEAK_KEY])] if PEAK_KEY in data else []
    sources = dict(inherited)
    origin = f"user file {where}" + (f" (base {base_name})" if base_name else "")
    for si in given:                                    # an overridden number loses the base's citation
        for target in (peaks if si == "peak_flops" else [si]):
            sources[target] = origin
    for key, text in sorted(raw.items(), key=lambda kv: "." in str(kv[0])):   # dtype-specific keys win
        if not isinstance(text, str) or not text.strip():
            raise _fail(where, f"sources entry {key!r} must be a non-empty string, got {text!r}")
        si = _source_key(where, key)
        for target in (peaks if si == "peak_flops" and peaks else [si]):
            sources[target] = text.strip()
    return sources


def spec_from_dict(data: Mapping[str, Any], where: str = "<dict>",
                   resolve_base: Callable[[str], DeviceSpec] | None = None) -> DeviceSpec:
    """Build a DeviceSpec from a parsed file's mapping; `where` names the file in errors."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: top level must be a mapping of fields, got {type(data).__name__}")
    for key in data:
        if key not in KNOWN_KEYS:
            raise _fail(where, f"unknown field {key!r}{_suggest(str(key), KNOWN_KEYS)}")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    base_name = data.get("base")
    if base_name is not None:
        if not isinstance(base_name, str):
            raise _fail(where, f"field 'base' must be a device name, got {base_name!r}")
        if resolve_base is None:
            from hardware.catalog import get_device as resolve_base  # lazy: catalog imports this module
        try:
            base = resolve_base(base_name)
        except ValueError as err:
            raise _fail(where, f"field 'base': {err}") from None
        values = {f.name: getattr(base, f.name) for f in fields(DeviceSpec)}
        values["peak_flops"] = dict(base.peak_flops)
        values["aliases"] = ()                          # a derived device does not inherit names
        sources = dict(base.sources)

    given: dict[str, str] = {}                          # SI field -> edge key that set it
    for key, value in data.items():
        if key in EDGE_FIELDS:
            si, factor = EDGE_FIELDS[key]
            if si in given:
                raise _fail(where, f"fields {given[si]!r} and {key!r} both set {si}; keep one")
            given[si] = key
            number = _number(where, key, value, si) * factor
            values[si] = int(round(number)) if si in INT_FIELDS else number
        elif key == PEAK_KEY:
            flops = _peak_flops(where, value)
            given["peak_flops"] = key
            if base_name is not None:                   # override only the dtypes given
                values["peak_flops"] = {**values["peak_flops"], **flops}
            else:
                values["peak_flops"] = flops
        elif key in TEXT_FIELDS:
            if not isinstance(value, str) or not value.strip():
                raise _fail(where, f"field {key!r} must be a non-empty string, got {value!r}")
            values[key] = value.strip()

    aliases = data.get("aliases", ())
    if isinstance(aliases, str):
        aliases = (aliases,)
    if not isinstance(aliases, (list, tuple)) or not all(isinstance(a, str) for a in aliases):
        raise _fail(where, f"field 'aliases' must be a list of names, got {aliases!r}")
    values["aliases"] = tuple(a.strip().lower() for a in aliases)

    values["sources"] = _cite(where, data, given, sources, base_name)

    if "name" not in data:                              # a file's name defaults to its stem
        values["name"] = Path(where).stem if where != "<dict>" else ""
    values["name"] = values["name"].lower()
    for need in REQUIRED:
        if need not in values or values[need] in ("", None):
            keys = " or ".join(repr(k) for k in _edge_keys_for(need)) if need not in TEXT_FIELDS else repr(need)
            raise _fail(where, f"missing required field {keys} (or give 'base: <device>' to inherit it)")
    try:
        return DeviceSpec(**values)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def _parse(path: Path) -> Any:
    """Parse YAML or JSON text; syntax errors become one line with the line number."""
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path.name}: malformed JSON at line {err.lineno}: {err.msg}") from None
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ValueError(f"{path.name}: malformed YAML{line}: {problem}") from None


def load_device(path: str | Path, resolve_base: Callable[[str], DeviceSpec] | None = None) -> DeviceSpec:
    """Load one device from a .yaml/.yml/.json file; `base:` names a catalog device to inherit from."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise ValueError(f"{path.name}: device files must end in .yaml, .yml or .json")
    if not path.is_file():
        raise ValueError(f"device file not found: {path}")
    return spec_from_dict(_parse(path), where=path.name, resolve_base=resolve_base)


def spec_to_dict(spec: DeviceSpec) -> dict[str, Any]:
    """The edge-unit mapping that `spec_from_dict` reads back into an equal spec (for saving files)."""
    out: dict[str, Any] = {"name": spec.name, "vendor": spec.vendor}
    if spec.form_factor:
        out["form_factor"] = spec.form_factor
    if spec.aliases:
        out["aliases"] = list(spec.aliases)
    out[PEAK_KEY] = {k: v / PEAK_FACTOR for k, v in spec.peak_flops.items()}
    preferred = ("hbm_gb", "hbm_bandwidth_GBps", "l2_mb", "sm_count", "clock_mhz", "tdp_w", "idle_w",
                 "scaleup_bandwidth_GBps", "scaleup_domain", "nic_bandwidth_GBps",
                 "host_link_bandwidth_GBps", "host_memory_gb", "nvme_bandwidth_GBps")
    for key in preferred:
        si, factor = EDGE_FIELDS[key]
        value = getattr(spec, si)
        out[key] = int(value) if si in INT_FIELDS else value / factor
    out["sources"] = dict(spec.sources)
    return out


def field_source(spec: DeviceSpec, field: str) -> str:
    """Citation of one field (`hbm_bytes`, `peak_flops.bf16`, ...); a dtype falls back to `peak_flops`."""
    if field in spec.sources:
        return spec.sources[field]
    head = field.partition(".")[0]
    if head == "peak_flops" and "peak_flops" in spec.sources:
        return spec.sources["peak_flops"]
    raise ValueError(f"device {spec.name} has no source for {field!r}")


def save_device(spec: DeviceSpec, path: str | Path) -> Path:
    """Write `spec` as YAML or JSON (by suffix) in edge units; `load_device` reads it back."""
    path = Path(path)
    data = spec_to_dict(spec)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
