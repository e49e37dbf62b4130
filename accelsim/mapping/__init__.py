"""Mapping of GEMMs onto the array: one ``Dataflow`` per OS/WS/IS with its fold-timing rule
(``dataflow``), and the fold enumeration and streamed-axis chunking (``folds``)."""
