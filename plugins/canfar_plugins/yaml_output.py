"""Built-in plugin: ``-o yaml``, the machine-readable documents written as YAML.

The same data as ``-o json``, in block style with keys in their order and non-ASCII text as
it is. PyYAML is imported only when YAML is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canfar_core import hookimpl

if TYPE_CHECKING:
    from canfar_core.models import Register


def write_yaml(data: Any) -> str:
    """``data`` (what JSON would hold) as a YAML document."""
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@hookimpl
def canfar_register_output_formats(register: Register) -> None:
    register("yaml", write_yaml)
