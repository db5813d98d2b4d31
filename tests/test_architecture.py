"""The import direction and the home of stock, read from the source (ast), so a new module cannot slip past.

- apps/core is the ground floor: none of its modules imports another app (`apps.<other>`), not even
  inside a function, relatively, or through importlib.
- Product.stock is written only in apps/catalog (its services): no module elsewhere updates it,
  creates products with it, assigns it or names it in raw SQL. Other modules call catalog's services.
Each check also runs on small bad snippets, so it is known to catch what it is meant to catch.
"""

import ast
import re
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parent.parent / "apps"

# ORM calls that write the columns named in their keyword arguments (or in `defaults`).
ORM_WRITES = {"update", "create", "get_or_create", "update_or_create", "bulk_update"}
STOCK_SQL = re.compile(r"\bUPDATE\b[^;]*\bcatalog_product\b[^;]*\bSET\b[^;]*\bstock\b", re.IGNORECASE | re.DOTALL)


def _modules() -> list[tuple[str, Path]]:
    """(dotted module name, path) of every Python module under apps/."""
    return [(".".join(path.relative_to(APPS.parent).with_suffix("").parts), path) for path in sorted(APPS.rglob("*.py"))]


def _app_of(module: str) -> str:
    return module.split(".")[1]


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an ImportFrom names, relative imports resolved against `module`."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(source: str, *, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import in the source, wherever it is (functions included).

    Covers `import x`, `from x import y` (relative too: `from .. import cart` names apps.cart) and
    importlib.import_module("x") / __import__("x") with a literal name.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def core_violations(source: str, *, module: str, is_package: bool = False) -> list[str]:
    """Imports of another app (`apps.<other>...`) from a module of apps/core."""
    other_apps = {
        (line, name.split(".")[1])
        for line, name in imported_modules(source, module=module, is_package=is_package)
        if name.startswith("apps.") and name.split(".")[1] != "core"
    }
    return [f"{module}:{line} imports apps.{app}" for line, app in sorted(other_apps)]


def _names_stock(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == "stock"


def _is_f_of_stock(node: ast.AST) -> bool:
    return any(
        isinstance(inner, ast.Call) and getattr(inner.func, "id", getattr(inner.func, "attr", "")) == "F" and inner.args and _names_stock(inner.args[0])
        for inner in ast.walk(node)
    )


def stock_writes(source: str, *, module: str) -> list[str]:
    """Places in the source that write Product.stock (the only model with a `stock` column).

    `.update(stock=...)`, `.create(stock=...)`, `defaults={"stock": ...}`, any `stock=F("stock")...`
    expression, `x.stock = ...` / `x.stock -= ...`, `bulk_update(..., ["stock"])`,
    `save(update_fields=[..."stock"...])`, and raw SQL updating catalog_product's stock. Calling a
    service with a `stock` argument (create_product(stock=3)) is not a write here: catalog does it.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"{module}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            method = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for keyword in node.keywords:
                if keyword.arg == "stock" and (method in ORM_WRITES or method == "Product" or _is_f_of_stock(keyword.value)):
                    found.append(f"{where} {method}(stock=...)")
                elif keyword.arg in ("defaults", "create_defaults") and isinstance(keyword.value, ast.Dict):
                    if any(_names_stock(key) for key in keyword.value.keys):
                        found.append(f"{where} {method}({keyword.arg}={{'stock': ...}})")
                elif keyword.arg in ("update_fields", "fields") and any(_names_stock(item) for item in ast.walk(keyword.value)):
                    found.append(f"{where} {method}({keyword.arg}=[..., 'stock'])")
            if method == "bulk_update" and len(node.args) > 1 and any(_names_stock(item) for item in ast.walk(node.args[1])):
                found.append(f"{where} bulk_update(..., ['stock'])")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for element in ast.walk(target):
                    if isinstance(element, ast.Attribute) and element.attr == "stock" and isinstance(element.ctx, ast.Store):
                        found.append(f"{where} assigns .stock")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and STOCK_SQL.search(node.value):
            found.append(f"{where} SQL updating catalog_product.stock")
    return found


# --- the checks ------------------------------------------------------------------------------------


def test_no_module_of_core_imports_another_app():
    modules = [(name, path) for name, path in _modules() if _app_of(name) == "core"]
    assert len(modules) > 10  # the walk really reads core
    violations = [
        violation
        for name, path in modules
        for violation in core_violations(path.read_text(), module=name, is_package=path.name == "__init__.py")
    ]
    assert violations == []


def test_no_module_outside_catalog_writes_product_stock():
    modules = [(name, path) for name, path in _modules() if _app_of(name) != "catalog"]
    assert {_app_of(name) for name, _ in modules} >= {"core", "orders", "cart", "devtools"}
    violations = [violation for name, path in modules for violation in stock_writes(path.read_text(), module=name)]
    assert violations == []


def test_catalog_itself_is_seen_writing_stock():
    """The stock check reads real code: it finds catalog's own writes (adjust_stock's guarded UPDATE)."""
    catalog = [(name, path) for name, path in _modules() if _app_of(name) == "catalog"]
    assert any(stock_writes(path.read_text(), module=name) for name, path in catalog)


# --- the checks catch what they must, and only that ------------------------------------------------

BAD_CORE_IMPORTS = [
    "from apps.orders.models import Order",
    "import apps.cart.selectors",
    "def collect():\n    from apps.outbox.models import OutboxEvent\n    return OutboxEvent",
    "from apps import wallets",
    "from ..cart import selectors",
    "import importlib\nselectors = importlib.import_module('apps.rankings.selectors')",
]
GOOD_CORE_IMPORTS = [
    "from apps.core.errors import NotFound",
    "from apps.core import errors",
    "from .errors import NotFound",
    "from django.utils.module_loading import autodiscover_modules\nautodiscover_modules('metrics')",
    "from config.celery import app",
]


@pytest.mark.parametrize("source", BAD_CORE_IMPORTS)
def test_the_core_check_catches_an_import_of_another_app(source):
    assert core_violations(source, module="apps.core.metrics")


@pytest.mark.parametrize("source", GOOD_CORE_IMPORTS)
def test_the_core_check_lets_core_and_third_party_imports_through(source):
    assert core_violations(source, module="apps.core.metrics") == []


BAD_STOCK_WRITES = [
    "Product.objects.filter(pk=1).update(stock=F('stock') - 2)",
    "Product.objects.filter(pk__in=ids).update(stock=0)",
    "Product.objects.create(sku='A', name='A', price=1, stock=5)",
    "Product.objects.get_or_create(sku='A', defaults={'name': 'A', 'stock': 5})",
    "Product(sku='A', stock=5).save()",
    "product.stock -= line.quantity\nproduct.save(update_fields=['stock'])",
    "product.stock = 0",
    "Product.objects.bulk_update(products, ['stock'])",
    "queryset.annotate(x=1).update(stock=F('stock') + delta)",
    "cursor.execute('UPDATE catalog_product SET stock = stock - %s WHERE id = %s', [2, 1])",
]
FINE_OUTSIDE_CATALOG = [
    "create_product(sku='A', name='A', price=1, stock=5)",
    "take_stock(lines=wanted)",
    "Product.objects.filter(stock__gt=0)",
    "available = product.stock - reserved",
    "Product.objects.values_list('stock', flat=True)",
    "OrderItem.objects.create(order=order, product=product, quantity=2)",
]


@pytest.mark.parametrize("source", BAD_STOCK_WRITES)
def test_the_stock_check_catches_a_write(source):
    assert stock_writes(source, module="apps.orders.services")


@pytest.mark.parametrize("source", FINE_OUTSIDE_CATALOG)
def test_the_stock_check_lets_reads_and_service_calls_through(source):
    assert stock_writes(source, module="apps.orders.services") == []
