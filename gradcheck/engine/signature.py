"""The signature check: the catalogue's names exist, of the right kind, accepting its arguments.

Each function takes the layer context (:class:`~.checker.LayerChecker`) first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any



if TYPE_CHECKING:
    from .checker import LayerChecker


def check_signature(ctx: "LayerChecker") -> bool:
    """Names present, of the right kind, accepting the catalogue's arguments.

    Returns False when the layer cannot be called at all (the rest is then skipped).
    """
    missing = [n for n in ctx.b.names if n not in ctx.found]
    if len(missing) == len(ctx.b.names):
        return False
    if missing:
        have = [n for n in ctx.b.names if n in ctx.found]
        ctx.add("signature", "signature", "fail",
                 f"{', '.join(missing)} not found, although {', '.join(have)} was "
                 f"(in {ctx.found[have[0]]['module']}): implement "
                 f"{'it' if len(missing) == 1 else 'them'} with exactly this name.")
        return True
    problems: list[str] = []
    blocking = False
    want_class = ctx.b.plan["style"] == "class"
    for name in ctx.b.names:
        info = ctx.found[name]
        if want_class and info["kind"] != "class":
            problems.append(f"{name} should be a class (dlfs profile), found a {info['kind']}")
            blocking = True
            continue
        if not want_class and info["kind"] != "function":
            problems.append(f"{name} should be a function (cs231n profile), found a "
                            f"{info['kind']}")
            blocking = True
            continue
        problems += ctx._arity_problems(name, info["params"], ctx.b.arity.get(name, 0),
                                         ctx._keywords(name))
        if want_class:
            for meth in ("forward", "backward"):
                if meth not in (info.get("methods") or {}):
                    problems.append(f"{name} has no {meth}() method")
                    blocking = True
            fwd = (info.get("methods") or {}).get("forward")
            if fwd is not None:
                problems += ctx._arity_problems(
                    f"{name}.forward", fwd, len(ctx.b.plan["forward_args"]),
                    list(ctx.b.plan.get("forward_config", {})))
            bwd = (info.get("methods") or {}).get("backward")
            if bwd is not None and not ctx.b.plan.get("loss"):
                problems += ctx._arity_problems(f"{name}.backward", bwd, 1, [])
    if problems:
        ctx.add("signature", "signature", "fail",
                 "; ".join(problems) + ". See the catalogue for the expected signature.")
    else:
        ctx.add("signature", "signature", "pass",
                 f"{', '.join(ctx.b.names)} found with the expected signature.")
    for name in ctx.b.names:
        others = ctx.found[name].get("also_in") or []
        if others:
            ctx.add("signature", f"signature:duplicate:{name}", "warn",
                     f"{name} is defined differently in {', '.join(others)} as well; the "
                     f"one in module {ctx.found[name]['module']} was checked (modules "
                     f"are searched in alphabetical order). Remove or rename the other "
                     f"so that the code you mean is the code that is graded.")
    return not blocking


def _keywords(ctx: "LayerChecker", name: str) -> list[str]:
    if ctx.b.plan["style"] == "class" and name == ctx.b.plan["class"]:
        return list(ctx.b.plan.get("init_config", {})) + list(
            ctx.b.plan.get("init_arrays", {}))
    return []


def _arity_problems(name: str, params: list[list[Any]] | None, n_positional: int,
                    keywords: list[str]) -> list[str]:
    if params is None:
        return []
    positional = [p for p in params if p[1] in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    varargs = any(p[1] == "VAR_POSITIONAL" for p in params)
    varkw = any(p[1] == "VAR_KEYWORD" for p in params)
    required = [p for p in positional if not p[2] and p[0] not in keywords]
    out = []
    if len(required) > n_positional:
        out.append(f"{name} requires {len(required)} positional arguments "
                   f"({', '.join(p[0] for p in required)}) but is called with {n_positional}")
    elif len(positional) < n_positional and not varargs:
        out.append(f"{name} accepts {len(positional)} positional arguments but is called "
                   f"with {n_positional}")
    names = {p[0] for p in params if p[1] != "POSITIONAL_ONLY"}
    for kw in keywords:
        if kw not in names and not varkw:
            out.append(f"{name} does not accept the keyword argument {kw!r}")
    return out
