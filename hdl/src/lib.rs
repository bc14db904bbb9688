//! Verilog generator for the spikeslice accelerator (filled by the compute-core issue).
