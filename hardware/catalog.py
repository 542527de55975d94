"""Registry of real accelerators: one sourced YAML file per part in `hardware/devices/`.

`get_device("h100")` resolves a canonical name or alias (case-insensitive, `_`/space read
as `-`); a path ending in .yaml/.yml/.json is loaded as a user device instead.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from hardware.loader import load_device
from hardware.spec import DeviceSpec

DEVICE_DIR = Path(__file__).with_name("devices")
DEVICES: dict[str, DeviceSpec] = {}
ALIASES: dict[str, str] = {}                      # alias -> canonical name
FILE_SUFFIXES = (".yaml", ".yml", ".json")


def _key(name: str) -> str:
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def register_device(spec: DeviceSpec) -> DeviceSpec:
    """Add `spec` under its name and aliases; a name or alias already taken is an error."""
    names = [_key(spec.name), *(_key(a) for a in spec.aliases)]
    for name in names:
        if name in DEVICES or name in ALIASES:
            owner = ALIASES.get(name, name)
            raise ValueError(f"device name {name!r} of {spec.name!r} is already registered (by {owner!r})")
    if len(set(names)) != len(names):
        raise ValueError(f"device {spec.name!r} lists a name twice among its aliases {spec.aliases}")
    DEVICES[names[0]] = spec
    for alias in names[1:]:
        ALIASES[alias] = names[0]
    return spec


def _no_base(name: str) -> DeviceSpec:
    raise ValueError(f"catalog files must list every number, not inherit 'base: {name}'")


def _load_catalog() -> None:
    for path in sorted(DEVICE_DIR.glob("*.yaml")):
        register_device(load_device(path, resolve_base=_no_base))


def list_devices() -> list[str]:
    """Canonical names of the catalog's devices, sorted."""
    return sorted(DEVICES)


def get_device(name_or_path: str | Path | DeviceSpec) -> DeviceSpec:
    """The catalog device for a name or alias, or the device described by a .yaml/.yml/.json file."""
    if isinstance(name_or_path, DeviceSpec):
        return name_or_path
    if isinstance(name_or_path, Path) or str(name_or_path).lower().endswith(FILE_SUFFIXES):
        return load_device(name_or_path)
    key = _key(name_or_path)
    key = ALIASES.get(key, key)
    if key in DEVICES:
        return DEVICES[key]
    close = difflib.get_close_matches(key, [*DEVICES, *ALIASES], n=1, cutoff=0.6)
    hint = f" (did you mean {ALIASES.get(close[0], close[0])!r}?)" if close else ""
    raise ValueError(f"unknown device {name_or_path!r}; known: {', '.join(list_devices())}{hint}")


_load_catalog()
