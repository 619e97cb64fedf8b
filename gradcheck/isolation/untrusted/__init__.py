"""The untrusted side: the code that runs next to submitted code.

``runner`` loads a submission's modules and interprets JSON call plans (arrays in, plain
arrays out); ``child`` is the sandbox's child process (namespaces, limits, the worker loop).
Both import only the standard library and numpy, and nothing of the checker: the sandbox
loads them by file path. This ``__init__`` is never imported on the untrusted side.
"""
