"""Accelerator datasheets (`DeviceSpec`), the catalog of real parts and the loader of user device files."""
from hardware.spec import DTYPES, DeviceSpec, canonical_dtype
from hardware.catalog import ALIASES, DEVICES, get_device, list_devices, register_device
from hardware.loader import load_device, save_device

__all__ = ["DTYPES", "DeviceSpec", "canonical_dtype", "ALIASES", "DEVICES", "get_device",
           "list_devices", "register_device", "load_device", "save_device"]
