"""Border: UN/EDIFACT PAXLST passenger lists (:mod:`.paxlst`) and movement check responses (:mod:`.movements`)."""
