//! Dataset readers (being written).
