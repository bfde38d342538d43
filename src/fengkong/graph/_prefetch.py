"""A compiled cache prefetch hint for the online graph's kernels.

``prefetch(table, row)`` asks the CPU to start loading the cache line of ``table[row]`` (the
row's first element for a 2-D table) and returns at once: the kernels issue it for every
identifier of an application before they need the rows, so that the memory reads of
different identifiers overlap instead of waiting one after another. It is only a hint (LLVM's
``llvm.prefetch``): it never faults, whatever the index, and changes no result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["prefetch"]

_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)


@intrinsic
def _prefetch(typingctx: Any, table: Any, row: Any) -> Any:  # pragma: no cover - compiled
    """Prefetch ``table[row]`` (or ``table[row, 0]``) for reading into every cache level."""
    if not isinstance(table, types.Array) or table.ndim not in (1, 2):
        return None
    if not isinstance(row, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type, _ = signature.args
        array = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        indices = [index] if array_type.ndim == 1 else [index, zero]
        pointer = cgutils.get_item_pointer2(
            context, builder, array.data, cgutils.unpack_tuple(builder, array.shape),
            cgutils.unpack_tuple(builder, array.strides), array_type.layout, indices,
            wraparound=False, boundscheck=False,
        )  # fmt: skip
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32]),
            "llvm.prefetch.p0i8",
        )  # fmt: skip
        # read (0), keep in all levels (3), data cache (1)
        builder.call(hint, [builder.bitcast(pointer, _I8P), _I32(0), _I32(3), _I32(1)])
        return context.get_dummy_value()

    return types.void(table, row), codegen


prefetch = cast(Callable[[Any, Any], None], _prefetch)  # called from compiled code only
