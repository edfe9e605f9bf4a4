"""Building Lambda artifacts: the pipeline (pipeline.py) and its steps, one module each.

Import what you need from the modules themselves: this package imports nothing, so that
a rebuild (incremental.py) does not load the whole pipeline.
"""
