"""Small helpers every layer uses: background loops, pydantic's errors in words.

They import nothing of the package, so any layer may import them.
"""
