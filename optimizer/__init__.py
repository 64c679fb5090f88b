"""bedalloc: exact, verified planning of detention beds and Alternatives-to-Detention releases.

Public API: :func:`read_instance` (validated instance), :func:`solve` (the lexicographic
one-day plan on HiGHS) and :func:`verify` (the independent verifier).  Heavy modules are
imported on first use.
"""

__version__ = "0.1.0"
__all__ = ["read_instance", "solve", "verify", "__version__"]


def __getattr__(name):
    if name == "read_instance":
        from .instance import read_instance

        return read_instance
    if name == "solve":
        from .solve import solve

        return solve
    if name == "verify":
        from .verify import verify

        return verify
    raise AttributeError(name)
