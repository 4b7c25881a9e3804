"""Fault injection for the broker's tests: a real proxy between the broker and a real local Livy."""
