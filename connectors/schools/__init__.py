"""Schools: DfE Common Transfer Files (:mod:`.ctf`) and statutory returns as CSV or JSON (:mod:`.returns`)."""
