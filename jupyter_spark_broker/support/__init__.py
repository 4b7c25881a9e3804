"""Small helpers every layer uses: background loops, pydantic's errors in words, notebook metadata.

They import nothing of the package, so any layer may import them.
"""
