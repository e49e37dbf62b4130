"""Mapping of GEMMs onto the array: one ``Dataflow`` per OS/WS/IS with its fold-timing rule
(``dataflow``), a layer's ``Mapping`` (dataflow, fold order, chunk S: ``space``), and the fold
enumeration and streamed-axis chunking under a mapping (``folds``)."""
