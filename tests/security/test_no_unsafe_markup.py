"""A lint: nothing but ``collaboratory.safe_html.sanitised`` may declare a string safe HTML.

Python (by AST, so aliases and attribute calls count): ``mark_safe(...)``, ``SafeString(...)``
/ ``SafeText(...)`` on anything but a literal, and ``format_html`` / ``format_html_join``
whose format string is not a literal (an f-string or a variable would let data decide the
markup). Templates: ``|safe``, ``|safeseq`` and ``{% autoescape off %}``. Each finding is
reported as ``file:line``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SANCTIONED = ROOT / "collaboratory" / "safe_html.py"
SKIP_DIRS = {".venv", "var", "node_modules", ".git", "__pycache__", "staticfiles", "vendor"}
MARKING = {"mark_safe", "SafeString", "SafeText"}
#: Position of the format string (collaboratory.safe_html's html_format / html_join are
#: format_html / format_html_join without Django's lazy-string wrappers).
FORMATTING = {"format_html": 0, "format_html_join": 1, "html_format": 0, "html_join": 1}
TEMPLATE_RULES = [
    (re.compile(r"\|\s*safe\b(?!seq)"), "the |safe filter"),
    (re.compile(r"\|\s*safeseq\b"), "the |safeseq filter"),
    (re.compile(r"{%-?\s*autoescape\s+off\b"), "{% autoescape off %}"),
]
#: Plain-text templates that may turn escaping off (HTML entities would corrupt them), each
#: with the reason it is safe. Nothing else may.
PLAIN_TEXT = {
    "templates/agreements/email/notification.txt": "the text part of an e-mail; "
    "collaboratory/mail.py escapes the whole text for the HTML part",
}


def _files(suffixes: tuple[str, ...]) -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        if path.suffix in suffixes and not SKIP_DIRS.intersection(path.relative_to(ROOT).parts):
            found.append(path)
    return sorted(found)


def _literal_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound to a string literal (or literal concatenations), or to a dict
    or tuple of them: safe to use as a format string or SafeString argument."""

    def literal(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return literal(node.left) and literal(node.right)
        if isinstance(node, ast.Dict):
            return all(literal(v) for v in node.values)
        if isinstance(node, ast.Tuple):
            return all(literal(e) for e in node.elts)
        return False

    names = set()
    for node in tree.body:
        value = getattr(node, "value", None)
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if value is not None and literal(value):
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _is_literal(node: ast.AST, constants: set[str]) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.Name) and node.id in constants:
        return True
    # _MARKS[kind]: a subscript of a literal-only module constant
    return isinstance(node, ast.Subscript) and _is_literal(node.value, constants)


def python_findings(path: Path, source: str | None = None) -> list[str]:
    source = path.read_text() if source is None else source
    tree = ast.parse(source, filename=str(path))
    constants = _literal_constants(tree)
    aliases = {name: name for name in (*MARKING, *FORMATTING)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in aliases and alias.asname:
                    aliases[alias.asname] = alias.name
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    findings = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = (
            func.id
            if isinstance(func, ast.Name)
            else func.attr
            if isinstance(func, ast.Attribute)
            else None
        )
        name = aliases.get(called or "")
        if name is None:
            continue
        where = f"{rel}:{node.lineno}"
        if name == "mark_safe":
            findings.append(f"{where}: mark_safe() outside collaboratory/safe_html.py")
        elif name in MARKING:
            if not (len(node.args) == 1 and _is_literal(node.args[0], constants)):
                findings.append(f"{where}: {name}() on a non-literal (use safe_html.sanitised)")
        else:
            position = FORMATTING[name]
            if len(node.args) <= position or not _is_literal(node.args[position], constants):
                findings.append(f"{where}: {name}() with a format string that is not a literal")
            elif name == "format_html" and len(node.args) == 1 and not node.keywords:
                findings.append(f"{where}: format_html() without arguments is mark_safe()")
    return findings


def template_findings(path: Path, text: str | None = None) -> list[str]:
    text = path.read_text() if text is None else text
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, what in TEMPLATE_RULES:
            if pattern.search(line):
                findings.append(f"{rel}:{number}: {what}")
    return findings


def test_no_python_code_marks_text_safe_outside_safe_html():
    findings = []
    for path in _files((".py",)):
        if path != SANCTIONED:
            findings += python_findings(path)
    assert not findings, "Unsafe markup construction:\n" + "\n".join(findings)


def test_no_template_turns_escaping_off():
    findings = []
    for path in _files((".html", ".txt", ".xml", ".svg")):
        rel = path.relative_to(ROOT)
        if "templates" in rel.parts:
            found = template_findings(path)
            if rel.as_posix() in PLAIN_TEXT:
                found = [f for f in found if not f.endswith("{% autoescape off %}")]
            findings += found
    assert not findings, "Templates that disable escaping:\n" + "\n".join(findings)


def test_plain_text_exceptions_exist_and_are_text_templates():
    for name in PLAIN_TEXT:
        assert (ROOT / name).is_file() and name.endswith(".txt"), name


def test_the_sanctioned_module_is_the_one_that_calls_mark_safe():
    """Each call (``mark_safe`` or ``SafeString``) in a function that earns it: ``sanitised``
    (nh3 cleaned the HTML), ``stamped`` (a rendered template with escaped values put in),
    ``escape_text`` (html.escape just now), ``html_format`` and ``html_join`` (every argument
    escaped, as format_html does), ``html_concat`` (pieces that are each SafeString
    already)."""
    tree = ast.parse(SANCTIONED.read_text())
    calls = [
        (function.name, node.func.id)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"mark_safe", "SafeString"}
    ]
    assert sorted(name for name, _ in calls) == sorted(
        ["sanitised", "stamped", "escape_text", "html_format", "html_join", "html_concat"]
    )
    assert len(python_findings(SANCTIONED)) == len(calls) == 6


@pytest.mark.parametrize(
    "source",
    [
        "from django.utils.safestring import mark_safe\nx = mark_safe(body)\n",
        "from django.utils.safestring import mark_safe as ok\nx = ok(body)\n",
        "from django.utils import safestring\nx = safestring.mark_safe(body)\n",
        "from django.utils.safestring import SafeString\nx = SafeString(clause.body)\n",
        "from django.utils.html import format_html\nx = format_html(f'<p>{body}</p>')\n",
        "from django.utils.html import format_html\nx = format_html('<p>' + body + '</p>')\n",
        "from django.utils.html import format_html\nx = format_html(template, body)\n",
        "from django.utils.html import format_html\nx = format_html('<p>hi</p>')\n",
        "from django.utils.html import format_html_join\nx = format_html_join('', t, rows)\n",
    ],
)
def test_the_lint_catches_each_unsafe_construction_with_file_and_line(source):
    assert python_findings(ROOT / "planted.py", source)[0].startswith("planted.py:2: ")


@pytest.mark.parametrize(
    "source",
    [
        "from django.utils.safestring import SafeString\nx = SafeString('<br>')\n",
        "from django.utils.html import format_html\nx = format_html('<p>{}</p>', body)\n",
        "from django.utils.html import format_html\nM = {'a': '<i>{}</i>'}\n"
        "x = format_html(M[k], body)\n",
        "from django.utils.safestring import SafeString\ndef f() -> SafeString: ...\n",
    ],
)
def test_the_lint_allows_literal_markup_with_escaped_arguments(source):
    assert python_findings(ROOT / "planted.py", source) == []


@pytest.mark.parametrize(
    "line",
    [
        "{{ clause.body|safe }}",
        "{{ names | safeseq|join:', ' }}",
        "{% autoescape off %}{{ x }}{% endautoescape %}",
    ],
)
def test_the_lint_catches_templates_that_disable_escaping(line):
    assert template_findings(ROOT / "t.html", "ok\n" + line) == [
        f"t.html:2: {what}" for pattern, what in TEMPLATE_RULES if pattern.search(line)
    ]
    assert template_findings(ROOT / "t.html", "ok\n" + line)
