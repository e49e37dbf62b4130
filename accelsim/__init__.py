"""accelsim: CNN workload profiling and cycle-exact systolic-array simulation."""

__version__ = "0.1.0"
