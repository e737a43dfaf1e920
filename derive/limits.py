"""Every limit derive puts on its input and on its own work, in one place.

A limit that is reached is an error that names it (README, "Limits"): derive refuses input it
cannot handle in bounded time and memory rather than running on.
"""
from __future__ import annotations

MAX_SPEC_BYTES = 1_000_000       # a spec file
MAX_EQUATION_LENGTH = 4_000      # characters in one equation
MAX_NESTING = 64                 # levels of operators, brackets and calls in one equation
MAX_NUMBER = 10**15              # the largest number an equation may write or compute from its numbers
MAX_NUMBER_LENGTH = 30           # characters of one number literal
MAX_EXPONENT = 64                # the largest numeric exponent
MAX_NAME_LENGTH = 32             # characters of one name (a quantity, an index, a dimension)
MAX_RANK = 8                     # indices of one tensor
MAX_LAYERS = 135                 # layers of one network, the loss included (deeper chains recurse too far)
MAX_EXPRESSION_SIZE = 20_000     # operations in one derived expression
MAX_VALUES = 2**22               # numbers in one array during verification (32 MiB of float64)
MAX_SAMPLED = 2_048              # values of one tensor at a sample point (more: size 1 in its largest axes)
MAX_MESSAGE = 500                # characters of an error message
MAX_QUOTE = 100                  # characters of user text quoted inside a message
