"""Matching: the linkage engine (pure) and the faust worker that applies it to the stream."""
