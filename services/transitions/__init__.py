"""Transition points (starting school, moving to secondary, in-year moves), prevention and the S2S workflow."""
