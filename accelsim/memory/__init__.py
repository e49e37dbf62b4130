"""The array's memory system: SRAM/DRAM traffic per fold (``traffic``), the load/compute/write
recurrence evaluated fast (``schedule``), and the same system stepped cycle by cycle (``stepper``)."""
