"""`python -m hwdock.knowledge`: regenerate the compiled JSON twins of the TOML tables."""

from hwdock.knowledge import COMPILED, compile_twin

for name in COMPILED:
    print(compile_twin(name))
