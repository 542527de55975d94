"""Read a cluster from a YAML/JSON file: units in names at the edge (GB/s, Gb/s, us), SI inside."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import yaml

from topologies.cluster import Cluster, ScaleOut, ScaleUp

_UP_KEYS = {"kind", "bandwidth_GBps", "efficiency", "latency_us", "nvls", "torus_dims", "torus_links"}
_OUT_KEYS = {"kind", "link_Gbps", "link_GBps", "radix", "oversubscription", "planes", "tiers", "efficiency",
             "hop_latency_us", "sharp", "failed_leaf_uplinks"}
_TOP_KEYS = {"name", "base", "device", "arch", "nodes", "gpus", "gpus_per_node", "nics_per_node", "scale_up",
             "scale_out", "sources", "host_floor_us"}


def _check_keys(where: str, data: dict, known: set[str]) -> None:
    """Reject misspelled keys instead of silently reading defaults."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def _scale_up(data: dict, base: ScaleUp | None) -> ScaleUp:
    """ScaleUp from file fields (bandwidth in GB/s per direction)."""
    _check_keys("scale_up", data, _UP_KEYS)
    kw = {}
    if "bandwidth_GBps" in data:
        kw["bandwidth"] = float(data["bandwidth_GBps"]) * 1e9
    if "latency_us" in data:
        kw["latency"] = float(data["latency_us"]) * 1e-6
    for key in ("kind", "efficiency", "nvls", "torus_dims", "torus_links"):
        if key in data:
            kw[key] = tuple(data[key]) if key == "torus_dims" else data[key]
    if base is not None:
        return replace(base, **kw)
    if "kind" not in kw or "bandwidth" not in kw:
        raise ValueError("scale_up needs kind and bandwidth_GBps (per GPU, per direction)")
    kw.setdefault("efficiency", 0.824)
    return ScaleUp(**kw)


def _scale_out(data: dict, base: ScaleOut | None) -> ScaleOut:
    """ScaleOut from file fields (link rate in Gb/s or GB/s per direction)."""
    _check_keys("scale_out", data, _OUT_KEYS)
    kw = {}
    if "link_Gbps" in data:
        kw["link_bandwidth"] = float(data["link_Gbps"]) * 1e9 / 8
    if "link_GBps" in data:
        kw["link_bandwidth"] = float(data["link_GBps"]) * 1e9
    if "hop_latency_us" in data:
        kw["hop_latency"] = float(data["hop_latency_us"]) * 1e-6
    for key in ("kind", "radix", "oversubscription", "planes", "tiers", "efficiency", "sharp", "failed_leaf_uplinks"):
        if key in data:
            kw[key] = data[key]
    return replace(base, **kw) if base is not None else ScaleOut(**kw)


def cluster_from_dict(data: dict, where: str = "cluster") -> Cluster:
    """Cluster from a parsed mapping; `base: <catalog name>` starts from a catalog entry and overrides fields."""
    from topologies.catalog import get_cluster

    _check_keys(where, data, _TOP_KEYS)
    try:
        base = get_cluster(data["base"]) if "base" in data else None
        up = _scale_up(data.get("scale_up", {}), base.scale_up if base else None) \
            if ("scale_up" in data or base is None) else base.scale_up
        out = _scale_out(data.get("scale_out", {}), base.scale_out if base else None) \
            if ("scale_out" in data or base is None) else base.scale_out
        fields = {k: data[k] for k in ("name", "device", "arch", "nodes", "gpus_per_node", "nics_per_node") if k in data}
        if "host_floor_us" in data:   # per-call host floor of a torch.distributed collective (us in files, s inside)
            fields["host_floor"] = float(data["host_floor_us"]) * 1e-6
        if base is not None:
            # The file's sources add to (and override by key) the base's: a calibrated file names its data.
            cluster = replace(base, scale_up=up, scale_out=out, sources={**base.sources, **data.get("sources", {})},
                              **fields)
        else:
            missing = [k for k in ("name", "device", "arch", "gpus_per_node") if k not in fields]
            if missing:
                raise ValueError(f"missing key(s) {', '.join(missing)}")
            fields.setdefault("nodes", 1)
            cluster = Cluster(scale_up=up, scale_out=out, sources=data.get("sources", {}), **fields)
        return cluster.with_gpus(int(data["gpus"])) if "gpus" in data else cluster
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{where}: malformed cluster description ({exc})") from None


def load_cluster(path: str | Path) -> Cluster:
    """Load and validate a cluster file (.yaml/.yml/.json); every problem is a one-line ValueError."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read cluster file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"malformed cluster file {path}: {first}") from None
    if not isinstance(data, dict):
        raise ValueError(f"malformed cluster file {path}: top level must be a mapping of keys")
    try:
        return cluster_from_dict(data, where=str(path))
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
