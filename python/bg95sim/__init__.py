"""bg95sim from Python: the emulated Quectel BG95/BG77 in your own test suite.

- `Module`: starts bg95sim (one module or a fleet), hands back its port(s), driver-style
  `cmd()`/`expect()` on the AT port, a control client (power, DTR, network, flash faults,
  status) and the transcript; stops it cleanly.
- `PackageServer`: bg95-pkgserver (HTTP/HTTPS/CoAP/CoAPS with server-side faults).
- `make_images_and_package()`: firmware images and a DFOTA package with dfota-pack.
- `bg95sim.pytest_plugin`: the fixtures bg95, bg95_fleet, bg95_scenario, package_server.

Standard library only; pyserial is used for the port when it is installed.
"""

from .binaries import ProgramNotFound, find_build_dir, find_program, set_default_build
from .control import ControlClient, ControlError, parse_response
from .images import DfotaFiles, DfotaPackError, inspect, make_images_and_package
from .module import Member, Module, ModuleError, StartError, options_to_args
from .pkgserver import PackageServer, PackageServerError, fault_to_text
from .port import FINAL_RESULT, Answer, AtError, AtPort, AtTimeout, PortClosed

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AtError",
    "AtPort",
    "AtTimeout",
    "ControlClient",
    "ControlError",
    "DfotaFiles",
    "DfotaPackError",
    "FINAL_RESULT",
    "Member",
    "Module",
    "ModuleError",
    "PackageServer",
    "PackageServerError",
    "PortClosed",
    "ProgramNotFound",
    "StartError",
    "fault_to_text",
    "find_build_dir",
    "find_program",
    "inspect",
    "make_images_and_package",
    "options_to_args",
    "parse_response",
    "set_default_build",
]
