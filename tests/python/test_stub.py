"""The .pyi stub names every class, method and function of the extension (and nothing else)."""

import ast
import os

import authstore
from authstore import _authstore


def stub_names():
    path = os.path.join(os.path.dirname(authstore.__file__), "_authstore.pyi")
    tree = ast.parse(open(path).read())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("__"):
                    names.add(f"{node.name}.{item.name}")
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def module_names():
    names = set()
    for name, obj in vars(_authstore).items():
        if name.startswith("_") or not (isinstance(obj, type) or callable(obj)):
            continue
        names.add(name)
        if isinstance(obj, type) and not hasattr(obj, "__members__"):
            for attr, value in vars(obj).items():
                if not attr.startswith("_") and callable(value) and not isinstance(value, type):
                    names.add(f"{name}.{attr}")
    return names


def test_stub_matches_module():
    assert module_names() - stub_names() == set()
    assert stub_names() - module_names() == set()


def test_docstrings():
    for name in ("CodeStore", "RefreshTokenStore", "SessionStore", "ReplayCache",
                 "ClientTokenStore", "Store", "Result"):
        assert getattr(_authstore, name).__doc__
    assert "atomic single use" in authstore.CodeStore.consume.__doc__.lower()
    assert "awaitable" in authstore.CodeStore.consume_async.__doc__.lower()
