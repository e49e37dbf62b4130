"""Area from synthesis: the RTL through yosys (system or YoWASP), NanGate 45 nm cell areas, CACTI SRAMs."""
