"""The untrusted side: the code that runs next to submitted code.

``runner`` (a small ``Runner`` composing ``loader``: find and import a submission's modules,
describe its names; ``plans``: interpret JSON call plans, arrays in, plain arrays out;
``output``: capped capture of prints and warnings; ``values``: describe and copy returned
values) and ``child`` (the sandbox's child process: namespaces, limits, the worker loop).
All import only the standard library and numpy, and nothing of the checker (siblings
relatively): the sandbox loads this folder as a package by file path under a private name.
This ``__init__`` imports nothing.
"""
