//! Verilator harness for the generated RTL (filled by the compute-core issue).
