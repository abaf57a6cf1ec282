"""Reading an mmdetection config (Python source) without running it.

mmdetection v2 stores the merged config of a run as text in its checkpoints (`meta['config']`, written by
`tools/train.py` from `cfg.pretty_text`), and its config files are plain assignments of literals and `dict(...)`
calls. `read_config_text` evaluates exactly that subset with Python's `ast` (literals, `dict(k=v, ...)`, lists,
tuples, unary minus, arithmetic on numbers, and names assigned earlier in the file); any other statement or
expression (imports, `_base_` inheritance, function calls) is skipped, never executed.

    python3 -m ghmdet_import.config_text FILE.py     prints the evaluated assignments as JSON
"""
import ast
import json
import operator
import sys

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class Unsupported(Exception):
    pass


def _eval(node, env):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, env) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_eval(k, env): _eval(v, env) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _eval(kw.value, env) for kw in node.keywords if kw.arg is not None}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand, env)
        if isinstance(v, (int, float)):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _eval(node.left, env), _eval(node.right, env)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return _BINOPS[type(node.op)](a, b)
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.Name) and node.id in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.id]
    raise Unsupported(ast.dump(node)[:80])


def read_config_text(text):
    """The config's top-level `name = value` assignments that are literal data, as a dict."""
    env = {}
    for stmt in ast.parse(text).body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            try:
                env[stmt.targets[0].id] = _eval(stmt.value, env)
            except Unsupported:
                continue
    return env


def dig(cfg, *path, default=None):
    """`dig(cfg, 'model', 'bbox_head', 'num_classes')`, or `default` where a key is absent."""
    cur = cfg
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return default
        cur = cur[key]
    return cur


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 -m ghmdet_import.config_text FILE.py")
    with open(sys.argv[1], encoding="utf-8") as f:
        print(json.dumps(_jsonable(read_config_text(f.read()))))
