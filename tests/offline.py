"""Installing canfar offline, as a user would from a checkout: the wheels of the packages it
needs, made again from the test environment's own installed copies, and a copy of the files a
build of canfar reads (a build writes ``build/`` beside them, which must not land in the
checkout)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: canfar's dependencies (and theirs), setuptools to build it, pip for pipx's shared libraries.
WHEELS = (
    "pluggy", "click", "requests", "platformdirs", "tabulate", "PyYAML",
    "urllib3", "idna", "charset-normalizer", "certifi", "setuptools", "pip",
)  # fmt: skip


def repack(name: str, folder: Path) -> Path:
    """The installed distribution ``name`` as a wheel again (for an offline install)."""
    dist = metadata.distribution(name)
    files = dist.files or []
    wheel_file = next(p for p in files if p.parts[0].endswith(".dist-info") and p.name == "WHEEL")
    found = re.search(r"^Tag: (\S+)", Path(dist.locate_file(wheel_file)).read_text(), re.M)
    assert found is not None
    info = wheel_file.parts[0]
    wheel = folder / f"{re.sub(r'[-_.]+', '_', dist.metadata['Name'])}-{dist.version}-"
    wheel = wheel.with_name(wheel.name + f"{found.group(1)}.whl")
    skipped = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            text = str(path)
            if text.startswith("..") or "__pycache__" in path.parts or text.endswith(".pyc"):
                continue
            if path.parts[0] == info and path.name in skipped:
                continue
            data = Path(dist.locate_file(path)).read_bytes()
            archive.writestr(text, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{text},sha256={digest.decode()},{len(data)}")
        record.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def checkout_copy(target: Path, extra: tuple[str, ...] = ()) -> Path:
    """The files a build of canfar reads (and the folders ``extra`` names), copied."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("canfar", "canfar_core", "plugins/canfar_plugins", *extra):
        shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    return target


def offline_wheels(folder: Path) -> Path:
    """A folder of wheels for ``pip install --no-index --find-links FOLDER`` of canfar."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in WHEELS:
        repack(name, folder)
    return folder
