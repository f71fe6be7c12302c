"""Which package may import which (DESIGN §1-§2), read from the source with `ast`.

Every import counts, also one inside a function (a lazy import) and a call to
`importlib.import_module` or `__import__` with a literal name.
"""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from orders_read.projectors import PROJECTORS
from orders_write.domain.events import Event

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "orders_write.domain"


def modules_under(package: str) -> Iterator[tuple[str, Path]]:
    """Yield (dotted module name, path) for every .py file of the package."""
    base = ROOT / package.replace(".", "/")
    for path in sorted(base.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports_of(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, absolute module name) for every import in the file."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:  # `from . import x` may name a module x
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _names_a_module(node):
            yield node.lineno, node.args[0].value


def _names_a_module(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        name in ("import_module", "__import__")
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    )


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_domain_imports_only_the_standard_library_and_itself():
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path in modules_under(DOMAIN)
        for line, name in imports_of(module, path)
        if not within(name, DOMAIN) and name.split(".")[0] not in sys.stdlib_module_names
    ]
    assert found == [], "the domain must stay plain Python:\n" + "\n".join(found)


def test_the_write_side_never_imports_the_read_side():
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path in modules_under("orders_write")
        for line, name in imports_of(module, path)
        if within(name, "orders_read")
    ]
    assert found == [], "wire the read side in config/bootstrap.py instead:\n" + "\n".join(found)


def test_the_import_reader_sees_every_kind_of_import(tmp_path):
    # The two tests above pass as long as nothing is found: show that things are found.
    source = tmp_path / "pkg" / "mod.py"
    source.parent.mkdir()
    source.write_text(
        "import django.db\n"
        "from .sibling import x\n"
        "from .. import other\n"
        "def later():\n"
        "    from orders_read.tasks import enqueue_catch_up\n"
        "    importlib.import_module('orders_read.bus')\n"
    )
    names = {name for _, name in imports_of("top.pkg.mod", source)}
    assert {"django.db", "top.pkg.sibling", "top.other", "orders_read.tasks"} <= names
    assert "orders_read.bus" in names


def test_projectors_handle_only_events_the_domain_defines():
    assert set(Event.registry) >= {"OrderPlaced", "OrderCancelled"}
    for name, projector in PROJECTORS.items():
        assert projector.handlers, name
        unknown = set(projector.handlers) - set(Event.registry)
        assert unknown == set(), f"{name} handles events no one records: {sorted(unknown)}"
